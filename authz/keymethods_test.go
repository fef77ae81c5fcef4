package authz

import (
	"context"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/authz/sign"
)

// A key restricted with --methods works only with those methods; used
// with another it answers as an unknown key (so a bare app_key seen on the
// wire does not confirm it exists) and the log detail says why.
func TestKeyMethodsRestrictUse(t *testing.T) {
	f := sigFixture()
	f.keys["signer-key-000001"] = &Key{KeyID: "kid_signer", AppID: "app1", Secret: "signer-secret", Methods: []Method{MethodHMAC}, Status: StatusActive}
	f.keys["open-key-00000001"] = &Key{KeyID: "kid_open", AppID: "app1", Secret: "open-secret", Status: StatusActive}
	e := sigEngine(f, testNow)
	ctx := context.Background()
	onAPI := func(r *Request, id string) *Request { r.Context = api(id); return r }

	bare := req("GET", "/x", map[string]string{"x-app-key": "signer-key-000001"}, api("sig-or-key"))
	d := e.Check(ctx, bare)
	if d.Allow || d.Reason != ReasonUnknownAppKey {
		t.Fatalf("bare use of an hmac-only key: allow=%v %s, want UnknownAppKey", d.Allow, d.Reason)
	}
	if !strings.Contains(d.Detail, "kid_signer") || !strings.Contains(d.Detail, "hmac") || d.Message != ReasonUnknownAppKey.DefaultMessage() {
		t.Errorf("detail %q / message %q: the log must say why, the client must not", d.Detail, d.Message)
	}

	signed := onAPI(hmacReq(t, sign.HMAC{Key: "signer-key-000001", Secret: "signer-secret", Now: testNow}, "GET", "/x", nil, nil), "sig-or-key")
	if d := e.Check(ctx, signed); !d.Allow || d.Identity.KeyID != "kid_signer" {
		t.Fatalf("hmac use of an hmac-only key: allow=%v %s %s", d.Allow, d.Reason, d.Message)
	}

	ps := onAPI(psReq(t, sign.Params{Key: "signer-key-000001", Secret: "signer-secret"}, "GET", "/x?a=1", "", nil, sign.InQuery), "sig-or-key")
	if d := e.Check(ctx, ps); d.Allow || d.Reason != ReasonUnknownAppKey {
		t.Fatalf("paramsign use of an hmac-only key: allow=%v %s", d.Allow, d.Reason)
	}

	// No methods: every method the API accepts.
	open := req("GET", "/x", map[string]string{"x-app-key": "open-key-00000001"}, api("sig-or-key"))
	if d := e.Check(ctx, open); !d.Allow || d.Identity.KeyID != "kid_open" {
		t.Fatalf("unrestricted key: allow=%v %s", d.Allow, d.Reason)
	}
}

func TestKeyAllows(t *testing.T) {
	for name, tc := range map[string]struct {
		methods []Method
		m       Method
		want    bool
	}{
		"empty allows all":  {nil, MethodKey, true},
		"listed":            {[]Method{MethodHMAC, MethodOAuth2}, MethodOAuth2, true},
		"not listed":        {[]Method{MethodHMAC}, MethodKey, false},
		"paramsign refused": {[]Method{MethodHMAC}, MethodParamSign, false},
	} {
		k := &Key{Methods: tc.methods}
		if got := k.Allows(tc.m); got != tc.want {
			t.Errorf("%s: Allows(%s) = %v", name, tc.m, got)
		}
	}
}
