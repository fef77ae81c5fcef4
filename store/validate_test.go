package store

import (
	"context"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/authz"
)

// Every operator value that is sent upstream as a header or in the dynamic
// metadata (app names, app ids, app_keys, API ids, stages, scopes) is
// refused at write time unless it is UTF-8 without control characters and
// within its length bound: a name that is not UTF-8 once made every Check
// of its app fail to marshal. Each refusal leaves Redis untouched.
func TestWriteRefusesUnsendableValues(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	mustCreateApp(t, s, "app1")
	key := []authz.Method{authz.MethodKey}
	if err := s.CreateAPI(ctx, authz.API{ID: "orders", Methods: key, Route: authz.Route{PathPrefix: "/orders"}}); err != nil {
		t.Fatal(err)
	}
	createApp := func(name string) func() error {
		return func() error { _, err := s.CreateApp(ctx, CreateAppParams{Name: name}); return err }
	}
	keyScopes := func(scopes ...string) func() error {
		return func() error { _, err := s.CreateKey(ctx, CreateKeyParams{AppID: "app1", Scopes: scopes}); return err }
	}
	tests := map[string]struct {
		write   func() error
		message string
	}{
		"app name not UTF-8":       {createApp("Bad\xffName"), `app name "Bad\xffName" is not valid UTF-8`},
		"app name truncated UTF-8": {createApp("caf\xc3"), "is not valid UTF-8"},
		"app name with CR LF":      {createApp("a\r\nx-appauthz-app-id: evil"), "control character"},
		"app name with NUL":        {createApp("a\x00b"), "control character"},
		"app name with DEL":        {createApp("a\x7fb"), "control character"},
		"app name with C1 control": {createApp("a\u0085b"), "control character"},
		"app name with tab":        {createApp("a\tb"), "control character"},
		"app name 257 bytes":       {createApp(strings.Repeat("é", 128) + "x"), "use at most 256"},
		"app id not ASCII":         {func() error { _, err := s.CreateApp(ctx, CreateAppParams{ID: "appé", Name: "n"}); return err }, "invalid app id"},
		"key scope not UTF-8":      {keyScopes("read", "wr\xffite"), "invalid scope"},
		"key scope with LF":        {keyScopes("read\nx"), "invalid scope"},
		"key scope not ASCII":      {keyScopes("lecture-é"), "invalid scope"},
		"key scope 129 bytes":      {keyScopes(strings.Repeat("s", 129)), "invalid scope"},
		"api id with CR":           {func() error { return s.CreateAPI(ctx, authz.API{ID: "a\rb", Methods: key}) }, "invalid api id"},
		"api scope not UTF-8":      {func() error { return s.CreateAPI(ctx, authz.API{ID: "x", Methods: key, Scopes: []string{"\xff"}}) }, "invalid scope"},
		"grant stage with NUL":     {func() error { return s.AddGrant(ctx, GrantInfo{API: "orders", AppID: "app1", Stage: "RE\x00LEASE"}) }, "invalid stage"},
		"grant stage too long": {func() error {
			return s.AddGrant(ctx, GrantInfo{API: "orders", AppID: "app1", Stage: strings.Repeat("S", 129)})
		}, "invalid stage"},
		"bulk key scope not UTF-8": {func() error {
			return s.BulkLoadKeys(ctx, "app1", []BulkKey{{AppKey: "bulk-key-000000001", Secret: "bulk-secret-1", Scopes: []string{"\xfe"}}})
		}, "invalid scope"},
		"bulk key scope with space": {func() error {
			return s.BulkLoadKeys(ctx, "app1", []BulkKey{{AppKey: "bulk-key-000000001", Secret: "bulk-secret-1", Scopes: []string{"a b"}}})
		}, "invalid scope"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before, err := rdb.DBSize(ctx).Result()
			if err != nil {
				t.Fatal(err)
			}
			err = tc.write()
			if err == nil || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("write error = %v; want one containing %q", err, tc.message)
			}
			if after, _ := rdb.DBSize(ctx).Result(); after != before {
				t.Errorf("Redis went from %d to %d keys; a refused write must write nothing", before, after)
			}
		})
	}
	// Printable UTF-8 names stay allowed, up to 256 bytes.
	for _, name := range []string{"Café Ünïcødé ✓", strings.Repeat("é", 128)} {
		if _, err := s.CreateApp(ctx, CreateAppParams{Name: name}); err != nil {
			t.Errorf("CreateApp(%q): %v; want accepted", name, err)
		}
	}
}
