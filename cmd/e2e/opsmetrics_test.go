package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/authz/sign"
)

// metricsText is the daemon's /metrics page.
func (d *daemon) metricsText(t testing.TB) string {
	t.Helper()
	resp, err := http.Get("http://" + d.httpAddr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

// An alert on appauthz_redis_errors_total > 0 must not fire in healthy
// operation: on the redis-server installed here (Debian's 7.0 refuses
// go-redis's CLIENT SETINFO) a start plus signed Checks (the admit
// script's first EVALSHA meets NOSCRIPT) count no error.
func TestRedisErrorsQuietWhenHealthy(t *testing.T) {
	w := newSigWorld(t)
	for _, path := range []string{"/a", "/b", "/c"} {
		w.d.check(t, withAPI(hmacReq(t, sign.HMAC{}, "GET", "http://hmac.com"+path, nil), "sig")).wantAllow(t, "signer")
	}
	page := w.d.metricsText(t)
	if !strings.Contains(page, `appauthz_redis_duration_seconds_count{op="evalsha"}`) {
		t.Fatalf("no EVALSHA measured: the signed Checks did not run the admit script?\n%s", page)
	}
	for _, line := range strings.Split(page, "\n") {
		if strings.HasPrefix(line, "appauthz_redis_errors_total{") && !strings.HasSuffix(line, " 0") {
			t.Errorf("healthy operation counted as a Redis error: %s", line)
		}
	}
}
