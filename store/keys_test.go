package store

import "testing"

// The names are the on-disk contract: a change here is a Redis key change
// that strands every existing record, so each one is pinned.
func TestKeyspaceNames(t *testing.T) {
	k := keyspace{prefix: "p*x:"}
	tests := []struct{ got, want string }{
		{k.rate("a1", "api1"), "p*x:rl:{a1}:api1:rate"},
		{k.quota("a1", "api1", "20260101"), "p*x:rl:{a1}:api1:quota:20260101"},
		{k.appLimits("api1"), "p*x:limits:{api1}"},
		{k.appLimitAPIs("a1"), "p*x:app:{a1}:limits"},
		{k.adminLock(), "p*x:lock:admin"},
		{k.keyTokens("h1"), "p*x:key:{h1}:tokens"},
		{k.recordTokens("p*x:key:{ak}"), "p*x:key:{ak}:tokens"},
		{k.keyNamePrefix(), "p*x:key:{"},
		{k.tokenNamePrefix(), "p*x:token:{"},
		{k.authFailurePrefix("key"), "p*x:oauth2fail:{key:"},
		{k.keyNames(), `p\*x:key:{*}`},
		{k.tokenNames(), `p\*x:token:{*}`},
		{k.appKeySets(), `p\*x:app:{*}:keys`},
		{k.authFailureNames("key"), `p\*x:oauth2fail:{key:*}`},
		{k.keyReaderNames(), `p\*x:masterkeys:reader:{*}`},
		{msgLimits("api1", "a1"), "limits:api1:a1"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	// Names built from the prefix agree with the per-record builders.
	if got, want := k.keyNamePrefix()+"h1}", k.key("h1"); got != want {
		t.Errorf("keyNamePrefix: %q, key: %q", got, want)
	}
	if got, want := k.tokenNamePrefix()+"h1}", k.token("h1"); got != want {
		t.Errorf("tokenNamePrefix: %q, token: %q", got, want)
	}
	if got, want := k.authFailurePrefix("key")+"h1}", k.authFailures("key", "h1"); got != want {
		t.Errorf("authFailurePrefix: %q, authFailures: %q", got, want)
	}
}
