package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store"
)

// TestExpiresInThePast: "expire now" (the epoch, year 1) is stored, shown
// and enforced as that instant; leaving --expires out is the only "never".
func TestExpiresInThePast(t *testing.T) {
	e := newEnv(t)
	var a store.CreatedApp
	e.json(&a, "app", "create", "--name", "x", "--id", "x")
	var api apiJSON
	e.json(&api, "api", "create", "--id", "orders", "--methods", "key")
	st := store.New(e.srv.Client(t), store.WithKeyring(testKeyring))
	ctx := context.Background()

	tests := map[string]struct {
		expires []string // the flag, or none
		json    any      // expires_at in the JSON answers; nil: absent
		cell    string   // EXPIRES in the tables
		want    authz.Expiry
	}{
		"never":        {nil, nil, "never", authz.NoExpiry},
		"epoch":        {[]string{"--expires", "1970-01-01T00:00:00Z"}, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z", authz.ExpiryAt(time.Unix(0, 0))},
		"epoch offset": {[]string{"--expires", "1970-01-01T01:00:00+01:00"}, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z", authz.ExpiryAt(time.Unix(0, 0))},
		"year 1":       {[]string{"--expires", "0001-01-01T00:00:00Z"}, "0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z", authz.ExpiryAt(time.Time{})},
		"fraction":     {[]string{"--expires", "1969-12-31T23:59:59.5Z"}, "1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z", authz.ExpiryAt(time.Unix(-1, 0))},
		"year 9999":    {[]string{"--expires", "9999-12-31T23:59:59Z"}, "9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z", authz.ExpiryAt(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC))},
	}
	for name, tc := range tests {
		id := strings.ReplaceAll(name, " ", "-")
		stage, key := "S-"+id, "key-"+id+"-0123456789abcdef"
		t.Run(name, func(t *testing.T) {
			var g map[string]any
			e.json(&g, append([]string{"grant", "add", "--api", "orders", "--app", "x", "--stage", stage}, tc.expires...)...)
			if g["expires_at"] != tc.json {
				t.Errorf("grant add answered expires_at %v, want %v", g["expires_at"], tc.json)
			}
			var k store.CreatedKey
			e.json(&k, append([]string{"key", "create", "--app", "x", "--key", key, "--secret", "secret-" + key}, tc.expires...)...)

			p, err := st.Principal(ctx, authz.PrincipalQuery{AppIDs: []string{"x"}, GrantAPI: "orders", Stage: stage})
			if err != nil {
				t.Fatal(err)
			}
			if gr := p.Grants["x"]; gr == nil || !gr.ExpiresAt.Equal(tc.want) {
				t.Errorf("grant in Redis = %+v, want expiry %v", gr, tc.want)
			}
			l, err := st.Lookup(ctx, authz.LookupQuery{AppKeys: []string{key}})
			if err != nil {
				t.Fatal(err)
			}
			if k := l.Keys[authz.HashAppKey(key)]; k == nil || !k.ExpiresAt.Equal(tc.want) {
				t.Errorf("key in Redis = %+v, want expiry %v", k, tc.want)
			}

			var grants struct{ Grants []map[string]any }
			e.json(&grants, "grant", "list", "--api", "orders")
			var keys struct{ Keys []map[string]any }
			e.json(&keys, "key", "list", "--app", "x")
			for what, rows := range map[string][]map[string]any{"grant": grants.Grants, "key": keys.Keys} {
				for _, r := range rows {
					if r["stage"] != stage && r["key_id"] != k.KeyID {
						continue
					}
					if v, ok := r["expires_at"]; v != tc.json || ok != (tc.json != nil) {
						t.Errorf("%s list: expires_at = %v (present %v), want %v", what, v, ok, tc.json)
					}
				}
			}

			for _, row := range e.table("grant", "list", "--api", "orders") {
				if row[2] != stage {
					continue
				}
				state := "expired"
				if !tc.want.Passed(time.Now()) {
					state = "active"
				}
				if row[3] != tc.cell || row[4] != state {
					t.Errorf("grant list row %q, want EXPIRES %s STATE %s", row, tc.cell, state)
				}
			}
			for _, row := range e.table("key", "list", "--app", "x") {
				if row[0] == key && row[4] != tc.cell {
					t.Errorf("key list row %q, want EXPIRES %s", row, tc.cell)
				}
			}
		})
	}
}
