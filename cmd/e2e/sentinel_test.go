package e2e

import (
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/store/redistest"
)

// authzctl and authzd reach a Sentinel-managed master through
// redis-sentinel://: provisioning, Checks and invalidation all work.
func TestSentinelEndToEnd(t *testing.T) {
	needsOneServer(t, "Sentinel fronts one master, not a Cluster")
	master := redistest.Start(t)
	s := redistest.StartSentinel(t, master)
	url := s.URL()
	key := ctl(t, url, "app", "create", "--name", "Shop", "--id", "shop")["app_key"].(string)
	ctl(t, url, "api", "create", "--id", "orders", "--methods", "key", "--access", "authorized")
	ctl(t, url, "grant", "add", "--api", "orders", "--app", "shop")
	d := startAuthzd(t, url, "--drain-delay", "0")
	req := withAPI(get("http://x/orders", "X-App-Key", key), "orders")
	d.check(t, req).wantAllow(t, "shop")
	ctl(t, url, "grant", "revoke", "--api", "orders", "--app", "shop")
	waitDenied(t, d, req, 403, "NotAuthorized")
}

// waitDenied polls until req is denied (the invalidation travels through
// pub/sub); the bound is a hang guard.
func waitDenied(t *testing.T, d *daemon, req extauthz.HTTPRequest, status int, reason string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		o := d.check(t, req)
		if !o.allowed {
			o.wantDeny(t, status, reason)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still allowed 10s after the write: the invalidation was lost")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
