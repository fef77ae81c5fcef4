package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/authz/sign"
)

// TestReplayAcrossAPIWindows: the replay nonce is shared by an app's APIs,
// so it must outlive the widest window any API may have, not the window of
// the API that saw it first. A request accepted on a 2 s API is replayed on
// a 1 h API after the 4 s the nonce used to live.
func TestReplayAcrossAPIWindows(t *testing.T) {
	srv := startRedis(t)
	url := srv.URL()
	ctl(t, url, "app", "create", "--name", "Signer", "--id", "signer", "--key", sigKey, "--secret", sigSecret)
	ctl(t, url, "api", "create", "--id", "short", "--methods", "hmac,paramsign", "--access", "authenticated", "--clock-skew", "2s")
	ctl(t, url, "api", "create", "--id", "long", "--methods", "hmac,paramsign", "--access", "authenticated", "--clock-skew", "1h")
	d := startAuthzd(t, url)

	hm := hmacReq(t, sign.HMAC{}, "GET", "http://api.example.com/orders?id=7", nil)
	ps, err := sign.Params{Key: sigKey, Secret: sigSecret, Timestamp: time.Now()}.Sign(sign.ParamRequest{URL: "http://api.example.com/orders?id=8"}, sign.InQuery)
	if err != nil {
		t.Fatal(err)
	}
	reqs := map[string]extauthz.HTTPRequest{"hmac": hm, "paramsign": {Method: "GET", URL: ps.URL, Header: http.Header{}}}
	for name, r := range reqs {
		d.check(t, withAPI(r, "short")).wantAllow(t, "signer")
		d.check(t, withAPI(r, "short")).wantDeny(t, 401, "ReplayedRequest")
		t.Logf("%s accepted on the 2s API", name)
	}

	// The nonces are kept about a day (the maximum clock skew), not 4s.
	for _, m := range srv.masters(t) {
		keys, err := m.Keys(context.Background(), "*seen:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if ttl := m.PTTL(context.Background(), k).Val(); ttl < 23*time.Hour {
				t.Errorf("nonce %s lives %s, want about 24h", k, ttl)
			}
		}
	}

	time.Sleep(4500 * time.Millisecond) // past the old TTL, 2 × 2s
	for name, r := range reqs {
		t.Run(name, func(t *testing.T) {
			d.check(t, withAPI(r, "long")).wantDeny(t, 401, "ReplayedRequest")
		})
	}
}
