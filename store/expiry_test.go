package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
)

// expiryCases are the instants an expiry must survive Redis with: "never",
// the two that used to read back as never (the epoch stored as "0", year 1
// being Go's zero time), one before the epoch and the last second RFC 3339
// can write.
var expiryCases = map[string]struct {
	at  *time.Time // nil: never
	raw string     // the stored field
}{
	"never":            {nil, "0"},
	"epoch":            {new(time.Unix(0, 0).UTC()), "+0"},
	"year 1":           {new(time.Time{}), "-62135596800"},
	"year 0":           {new(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)), "-62167219200"},
	"before the epoch": {new(time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)), "-14182940"},
	"a second before":  {new(time.Unix(-1, 0).UTC()), "-1"},
	"a second after":   {new(time.Unix(1, 0).UTC()), "1"},
	"far future":       {new(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)), "253402300799"},
}

func TestExpiryCodec(t *testing.T) {
	for name, tc := range expiryCases {
		t.Run(name, func(t *testing.T) {
			e := authz.ExpiryOf(tc.at)
			if err := validExpiry(e); err != nil {
				t.Fatal(err)
			}
			if got := encodeExpiry(e); got != tc.raw {
				t.Fatalf("encodeExpiry(%v) = %q, want %q", e, got, tc.raw)
			}
			back, err := decodeExpiry("expires_at", tc.raw)
			if err != nil || !back.Equal(e) {
				t.Fatalf("decodeExpiry(%q) = %v, %v; want %v", tc.raw, back, err, e)
			}
		})
	}
	// What older versions wrote, or an operator by hand.
	for raw, want := range map[string]authz.Expiry{
		"":   authz.NoExpiry,
		"0":  authz.NoExpiry,
		"-0": authz.ExpiryAt(time.Unix(0, 0)),
		"00": authz.ExpiryAt(time.Unix(0, 0)),
	} {
		if got, err := decodeExpiry("expires_at", raw); err != nil || !got.Equal(want) {
			t.Errorf("decodeExpiry(%q) = %v, %v; want %v", raw, got, err, want)
		}
	}
	for _, raw := range []string{"tomorrow", "1.5", " 1", "-62167219201", "253402300800", "9223372036854775807", "-9223372036854775808"} {
		if got, err := decodeExpiry("expires_at", raw); err == nil || !strings.Contains(err.Error(), "expires_at") {
			t.Errorf("decodeExpiry(%q) = %v, %v; want an error naming the field", raw, got, err)
		}
	}
	// Fractions of a second round down: an expiry never moves later.
	if got := encodeExpiry(authz.ExpiryAt(time.Unix(-1, 500_000_000))); got != "-1" {
		t.Errorf("half a second before the epoch encodes to %q, want -1", got)
	}
	if got := encodeExpiry(authz.ExpiryAt(time.Unix(0, 500_000_000))); got != "+0" {
		t.Errorf("half a second after the epoch encodes to %q, want +0", got)
	}
	for _, at := range []time.Time{time.Date(-1, 12, 31, 23, 0, 0, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if err := validExpiry(authz.ExpiryAt(at)); err == nil {
			t.Errorf("validExpiry(%v) accepted an instant RFC 3339 cannot write", at)
		}
	}
}

// TestExpiryRoundTrips writes each expiry through the admin API into a
// real Redis and reads it back every way: the decision path (Lookup,
// Principal, the cache), the token endpoint's client and the lists.
func TestExpiryRoundTrips(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	mustCreateApp(t, s, "app1")
	if err := s.CreateAPI(ctx, authz.API{ID: "orders", Methods: []authz.Method{authz.MethodKey}}); err != nil {
		t.Fatal(err)
	}
	c := startCache(t, s, CacheConfig{})
	i := 0
	for name, tc := range expiryCases {
		i++
		stage := "S" + string(rune('A'+i))
		appKey := "key-" + strings.ReplaceAll(name, " ", "-") + "-0123456789abcdef"
		want := authz.ExpiryOf(tc.at)
		t.Run(name, func(t *testing.T) {
			created, err := s.CreateKey(ctx, CreateKeyParams{AppID: "app1", Key: appKey, ExpiresAt: tc.at})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.AddGrant(ctx, GrantInfo{API: "orders", AppID: "app1", Stage: stage, ExpiresAt: tc.at}); err != nil {
				t.Fatal(err)
			}
			if raw := rdb.HGet(ctx, s.keys.key(authz.HashAppKey(appKey)), "expires_at").Val(); raw != tc.raw {
				t.Errorf("key field expires_at = %q, want %q", raw, tc.raw)
			}
			if raw := rdb.HGet(ctx, s.keys.grant("orders", stage), "app1").Val(); raw != tc.raw {
				t.Errorf("grant value = %q, want %q", raw, tc.raw)
			}

			for via, st := range map[string]authz.Store{"store": s, "cache": c} {
				res, err := st.Lookup(ctx, authz.LookupQuery{AppKeys: []string{appKey}})
				if err != nil {
					t.Fatal(err)
				}
				if k := res.Keys[authz.HashAppKey(appKey)]; k == nil || !k.ExpiresAt.Equal(want) {
					t.Errorf("%s: Lookup key = %+v, want expiry %v", via, k, want)
				}
				pr, err := st.Principal(ctx, authz.PrincipalQuery{AppIDs: []string{"app1"}, GrantAPI: "orders", Stage: stage})
				if err != nil {
					t.Fatal(err)
				}
				if g := pr.Grants["app1"]; g == nil || !g.ExpiresAt.Equal(want) {
					t.Errorf("%s: Principal grant = %+v, want expiry %v", via, g, want)
				}
			}
			cl, _, err := s.TokenClient(ctx, appKey, "10.0.0.1")
			if err != nil || cl == nil || !cl.ExpiresAt.Equal(want) {
				t.Errorf("TokenClient = %+v, %v; want expiry %v", cl, err, want)
			}

			keys, err := s.ListKeys(ctx, "app1")
			if err != nil {
				t.Fatal(err)
			}
			listed := 0
			for _, k := range keys {
				if k.KeyID == created.KeyID {
					listed++
					if !authz.ExpiryOf(k.ExpiresAt).Equal(want) {
						t.Errorf("ListKeys expiry = %v, want %v", k.ExpiresAt, want)
					}
				}
			}
			grants, err := s.ListGrants(ctx, "orders")
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range grants {
				if g.Stage == stage {
					listed++
					if !authz.ExpiryOf(g.ExpiresAt).Equal(want) {
						t.Errorf("ListGrants expiry = %v, want %v", g.ExpiresAt, want)
					}
				}
			}
			if listed != 2 {
				t.Errorf("key %s and grant on %s listed %d times in all, want once each", appKey, stage, listed)
			}
		})
	}

	// Records written by older versions keep meaning "never".
	// Records written by older versions, or by hand, keep meaning "never":
	// "0", an empty value, an absent field.
	rdb.HDel(ctx, s.keys.key(authz.HashAppKey("app1-key-0123456789")), "expires_at")
	res, _ := s.Lookup(ctx, authz.LookupQuery{AppKeys: []string{"app1-key-0123456789"}})
	if k := res.Keys[authz.HashAppKey("app1-key-0123456789")]; k == nil || !k.ExpiresAt.Never() {
		t.Errorf("key without expires_at: %+v, want no expiry", k)
	}
	for stage, raw := range map[string]string{"OLD": "0", "EMPTY": ""} {
		rdb.HSet(ctx, s.keys.grant("orders", stage), "app1", raw)
		pr, _ := s.Principal(ctx, authz.PrincipalQuery{AppIDs: []string{"app1"}, GrantAPI: "orders", Stage: stage})
		if g := pr.Grants["app1"]; g == nil || !g.ExpiresAt.Never() {
			t.Errorf("grant stored as %q: %+v, want no expiry", raw, g)
		}
	}

	// An instant JSON and RFC 3339 cannot show is refused before writing.
	tooLate := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.CreateKey(ctx, CreateKeyParams{AppID: "app1", Key: "too-late-0123456789", ExpiresAt: &tooLate}); err == nil || !strings.Contains(err.Error(), "0000-9999") {
		t.Errorf("CreateKey in year 10000: %v, want a range error", err)
	}
	if err := s.AddGrant(ctx, GrantInfo{API: "orders", AppID: "app1", Stage: "LATE", ExpiresAt: &tooLate}); err == nil || !strings.Contains(err.Error(), "0000-9999") {
		t.Errorf("AddGrant in year 10000: %v, want a range error", err)
	}
	if n := rdb.Exists(ctx, s.keys.key(authz.HashAppKey("too-late-0123456789")), s.keys.grant("orders", "LATE")).Val(); n != 0 {
		t.Errorf("refused writes left %d records", n)
	}
}
