package extauthz

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/appauthz/appauthz/authz"
)

// Random API names on UnknownAPI share one series; known APIs keep theirs.
func TestMetricsAPILabelIsBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	decisions := []authz.Decision{
		{Reason: authz.ReasonUnknownAPI, Identity: authz.Identity{API: "random-1"}},
		{Reason: authz.ReasonUnknownAPI, Identity: authz.Identity{API: "random-2"}},
		{Reason: authz.ReasonUnknownAPI}, // no route matched
		{Reason: authz.ReasonUnknownAppKey, Identity: authz.Identity{API: "demo"}},
		{Allow: true, Reason: authz.ReasonOK, Identity: authz.Identity{API: "demo", Method: authz.MethodKey}},
	}
	for _, d := range decisions {
		m.observe(d, 0)
	}
	for name, tc := range map[string]struct {
		labels []string
		want   float64
	}{
		"unknown APIs, one series": {[]string{"deny", "", "UnknownAPI", unknownAPILabel}, 3},
		"raw name 1 not a label":   {[]string{"deny", "", "UnknownAPI", "random-1"}, 0},
		"known API deny":           {[]string{"deny", "", "UnknownAppKey", "demo"}, 1},
		"known API allow":          {[]string{"allow", string(authz.MethodKey), "OK", "demo"}, 1},
	} {
		t.Run(name, func(t *testing.T) {
			if got := testutil.ToFloat64(m.checks.WithLabelValues(tc.labels...)); got != tc.want {
				t.Errorf("appauthz_checks_total%v = %v, want %v", tc.labels, got, tc.want)
			}
		})
	}
}
