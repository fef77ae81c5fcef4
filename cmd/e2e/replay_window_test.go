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
// so it must outlive the widest window of the APIs configured, not the
// window of the API that saw it first. A request accepted on a 2 s API is replayed on
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

	// The nonces are kept until the widest window of the APIs configured
	// (1h) has passed over their date, plus a minute's margin: not 4s (the
	// first API's 2 × 2s), and not a day (the widest window an API may
	// ever have).
	found := 0
	for _, m := range srv.masters(t) {
		keys, err := m.Keys(context.Background(), "*seen:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			found++
			if ttl := m.PTTL(context.Background(), k).Val(); ttl < 59*time.Minute || ttl > time.Hour+time.Minute {
				t.Errorf("nonce %s lives %s, want about 1h + 1m", k, ttl)
			}
		}
	}
	if found != len(reqs) {
		t.Fatalf("%d nonces in Redis, want %d", found, len(reqs))
	}

	time.Sleep(4500 * time.Millisecond) // past the old TTL, 2 × 2s
	for name, r := range reqs {
		t.Run(name, func(t *testing.T) {
			d.check(t, withAPI(r, "long")).wantDeny(t, 401, "ReplayedRequest")
		})
	}
}
