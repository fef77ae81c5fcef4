package httpauthz

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/appauthz/appauthz/authz"
)

// metrics count the HTTP mode's decisions. Label values come from bounded
// sets: the two endpoints, allow/deny and the reason codes.
type metrics struct {
	checks   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "appauthz_http_checks_total",
			Help: "HTTP authorization requests (forward auth, Envoy http_service) by endpoint, result and reason code.",
		}, []string{"endpoint", "result", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "appauthz_http_check_duration_seconds",
			Help:    "Time to decide one HTTP authorization request, by result.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .2, .5, 1},
		}, []string{"result"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.checks, m.duration} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, errors.New("httpauthz: metrics already registered on this registry: create one Handler per registry")
			}
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(endpoint string, d authz.Decision, elapsed time.Duration) {
	result := "deny"
	if d.Allow {
		result = "allow"
	}
	m.checks.WithLabelValues(endpoint, result, string(d.Reason)).Inc()
	m.duration.WithLabelValues(result).Observe(elapsed.Seconds())
}
