package extauthz

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/appauthz/appauthz/authz"
)

// Result label values of appauthz_checks_total.
const (
	resultAllow = "allow"
	resultDeny  = "deny"
	resultError = "error" // the RPC failed (a recovered panic)
)

// metrics are the Check counters. Label values come from bounded sets:
// reason codes, auth methods, and API ids the operator configured (see
// apiLabel).
type metrics struct {
	checks    *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	storeDown *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "appauthz_checks_total",
			Help: "ext_authz Check calls by result (allow, deny, error), auth method, reason code and API.",
		}, []string{"result", "method", "reason", "api"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "appauthz_check_duration_seconds",
			Help: "Time to decide one ext_authz Check, by result. Envoy's default timeout is 200ms.",
			// Checks are sub-millisecond with a warm Redis; the top buckets
			// straddle Envoy's 200 ms default timeout.
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .2, .5, 1},
		}, []string{"result"}),
		storeDown: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "appauthz_store_unavailable_total",
			Help: "StoreUnavailable denies by cause: timeout, canceled, connection, decrypt, protocol, other.",
		}, []string{"cause"}),
	}
	// Every cause starts at 0, so an alert on increase() sees the first one.
	for _, c := range authz.StoreCauses() {
		m.storeDown.WithLabelValues(string(c))
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.checks, m.duration, m.storeDown} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, errors.New("extauthz: metrics already registered on this registry: create one Server per registry")
			}
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(d authz.Decision, elapsed time.Duration) {
	result := resultDeny
	if d.Allow {
		result = resultAllow
	}
	m.checks.WithLabelValues(result, string(d.Identity.Method), string(d.Reason), apiLabel(d)).Inc()
	m.duration.WithLabelValues(result).Observe(elapsed.Seconds())
}

// unknownAPILabel is the api label of every UnknownAPI deny. It cannot be
// an API id, which starts with a letter or digit.
const unknownAPILabel = "_unknown"

// apiLabel is the api label of d. On UnknownAPI the name is whatever the
// request's route carried (a context extension), so each new name would
// otherwise create series forever; the name itself is in the deny's log.
func apiLabel(d authz.Decision) string {
	if d.Reason == authz.ReasonUnknownAPI {
		return unknownAPILabel
	}
	return d.Identity.API
}

func (m *metrics) observeError() {
	m.checks.WithLabelValues(resultError, "", "", "").Inc()
}

// observeStoreDown counts one StoreUnavailable deny; cause is one of
// authz.StoreCauses (the classifier's contract), so the label set is fixed.
func (m *metrics) observeStoreDown(cause authz.StoreCause) {
	m.storeDown.WithLabelValues(string(cause)).Inc()
}
