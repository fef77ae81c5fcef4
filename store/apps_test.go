package store

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/appauthz/appauthz/authz"
)

func TestCreateAppGenerates(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	a, err := s.CreateApp(ctx, CreateAppParams{Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	for what, c := range map[string]struct{ got, pattern string }{
		"app_id":     {a.AppID, `^[0-9a-f]{16}$`},
		"app_key":    {a.AppKey, `^[0-9a-f]{32}$`},
		"key_id":     {a.KeyID, `^kid_[a-z2-7]{20}$`},
		"app_secret": {a.AppSecret, `^[0-9a-f]{32}$`},
		"appcode":    {a.AppCode, `^[0-9A-F]{32}$`},
	} {
		if !regexp.MustCompile(c.pattern).MatchString(c.got) {
			t.Errorf("%s = %q, want %s", what, c.got, c.pattern)
		}
	}
	b, err := s.CreateApp(ctx, CreateAppParams{Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	if a.AppID == b.AppID || a.AppKey == b.AppKey || a.AppSecret == b.AppSecret || a.AppCode == b.AppCode {
		t.Fatalf("two generated apps share a credential: %+v %+v", a, b)
	}

	h, err := rdb.HGetAll(ctx, "appauthz:app:{"+a.AppID+"}").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"name": "Shop", "status": "active", "created_at": "1700000000", "appcode": authz.HashAppCode(a.AppCode)}
	for f, v := range want {
		if h[f] != v {
			t.Errorf("app hash %s = %q, want %q", f, h[f], v)
		}
	}
	k, _ := rdb.HGetAll(ctx, "appauthz:key:{"+authz.HashAppKey(a.AppKey)+"}").Result()
	if k["app_id"] != a.AppID || k["key_id"] != a.KeyID || k["secret"] != a.AppSecret || k["status"] != "active" || k["expires_at"] != "0" {
		t.Errorf("key hash = %v", k)
	}
	c, _ := rdb.HGetAll(ctx, "appauthz:appcode:{"+authz.HashAppCode(a.AppCode)+"}").Result()
	if c["app_id"] != a.AppID || c["status"] != "active" {
		t.Errorf("appcode hash = %v", c)
	}
}

func TestCreateAppErrors(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	mustCreateApp(t, s, "taken")

	tests := map[string]struct {
		p       CreateAppParams
		is      error  // errors.Is target, nil for a validation error
		message string // substring of the error
	}{
		"empty name":        {CreateAppParams{ID: "a1"}, nil, "--name"},
		"bad id":            {CreateAppParams{ID: "a b", Name: "n"}, nil, "invalid app id"},
		"id with brace":     {CreateAppParams{ID: "a{1}", Name: "n"}, nil, "invalid app id"},
		"id too long":       {CreateAppParams{ID: strings.Repeat("a", 129), Name: "n"}, nil, "invalid app id"},
		"bad key":           {CreateAppParams{Name: "n", Key: "k:1"}, nil, "invalid app_key"},
		"short secret":      {CreateAppParams{Name: "n", Secret: "short"}, nil, "8 to 256"},
		"secret w/ space":   {CreateAppParams{Name: "n", Secret: "has a space"}, nil, "without spaces"},
		"short appcode":     {CreateAppParams{Name: "n", AppCode: "abc"}, nil, "invalid AppCode"},
		"non-ascii code":    {CreateAppParams{Name: "n", AppCode: "codé-12345"}, nil, "printable ASCII"},
		"id taken":          {CreateAppParams{ID: "taken", Name: "n"}, ErrExists, `app id "taken" already exists`},
		"key taken":         {CreateAppParams{Name: "n", Key: "taken-key-0123456789"}, ErrExists, "app_key already exists"},
		"appcode taken":     {CreateAppParams{Name: "n", AppCode: "CODE-taken-0001"}, ErrExists, "AppCode already exists"},
		"short bare key":    {CreateAppParams{Name: "n", Key: "short-key-15chr"}, nil, "at least 16"},
		"control char name": {CreateAppParams{Name: "a\nb"}, nil, "control character"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := s.CreateApp(ctx, tc.p)
			if err == nil {
				t.Fatal("CreateApp succeeded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not mention %q", err, tc.message)
			}
			if tc.p.AppCode != "" && strings.Contains(err.Error(), tc.p.AppCode) {
				t.Errorf("error %q repeats the AppCode", err)
			}
			if tc.p.Secret != "" && strings.Contains(err.Error(), tc.p.Secret) {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
	apps, err := s.ListApps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("after failed creates ListApps = %v, %v; want only the first app", apps, err)
	}
}

// Two creates racing for the same app id, app_key or AppCode: exactly one
// wins, whatever the interleaving.
func TestCreateAppRace(t *testing.T) {
	s, _, _ := newTestStore(t)
	for name, mk := range map[string]func(i int) CreateAppParams{
		"same id":      func(i int) CreateAppParams { return CreateAppParams{ID: "race", Name: "n"} },
		"same key":     func(i int) CreateAppParams { return CreateAppParams{Name: "n", Key: "race-key-0123456789"} },
		"same appcode": func(i int) CreateAppParams { return CreateAppParams{Name: "n", AppCode: "RACE-CODE-1"} },
	} {
		t.Run(name, func(t *testing.T) {
			const n = 16
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() { _, errs[i] = s.CreateApp(context.Background(), mk(i)) })
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, ErrExists):
					t.Errorf("unexpected error: %v", err)
				}
			}
			if won != 1 {
				t.Fatalf("%d creates won, want exactly 1", won)
			}
		})
	}
}

func TestGetListApps(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	mustCreateApp(t, s, "b-app")
	first := mustCreateApp(t, s, "a-app")
	second, err := s.CreateKey(ctx, CreateKeyParams{AppID: "a-app", Key: "a-second-0123456789"})
	if err != nil {
		t.Fatal(err)
	}

	got, err := s.GetApp(ctx, "a-app")
	if err != nil {
		t.Fatal(err)
	}
	// The app lists its keys by key id, never by app_key.
	ids := []string{first.KeyID, second.KeyID}
	slices.Sort(ids)
	want := AppInfo{AppID: "a-app", Name: "App a-app", Status: "active", CreatedAt: testNow, Keys: ids, HasAppCode: true}
	if !appInfoEqual(got, want) {
		t.Fatalf("GetApp = %+v, want %+v", got, want)
	}
	list, err := s.ListApps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].AppID != "a-app" || list[1].AppID != "b-app" {
		t.Fatalf("ListApps = %+v, want a-app, b-app", list)
	}

	for _, id := range []string{"nope", "bad id"} {
		_, err := s.GetApp(ctx, id)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "authzctl app list") {
			t.Errorf("GetApp(%q) error = %v, want ErrNotFound with a hint", id, err)
		}
	}
}

func appInfoEqual(a, b AppInfo) bool {
	return a.AppID == b.AppID && a.Name == b.Name && a.Status == b.Status && a.CreatedAt.Equal(b.CreatedAt) &&
		strings.Join(a.Keys, ",") == strings.Join(b.Keys, ",") && a.HasAppCode == b.HasAppCode
}

func TestSetAppStatusMirrorsAppCode(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	a := mustCreateApp(t, s, "app1")
	hash := authz.HashAppCode(a.AppCode)

	for _, st := range []authz.Status{authz.StatusDisabled, authz.StatusActive} {
		if err := s.SetAppStatus(ctx, "app1", st); err != nil {
			t.Fatal(err)
		}
		res, err := s.Lookup(ctx, authz.LookupQuery{AppCodeHashes: []string{hash}})
		if err != nil {
			t.Fatal(err)
		}
		if rec := res.AppCodes[hash]; rec == nil || rec.Status != st {
			t.Fatalf("after SetAppStatus(%s) AppCode record = %+v", st, rec)
		}
		info, _ := s.GetApp(ctx, "app1")
		if info.Status != string(st) {
			t.Fatalf("after SetAppStatus(%s) app status = %q", st, info.Status)
		}
	}
	if err := s.SetAppStatus(ctx, "app1", "paused"); err == nil || !strings.Contains(err.Error(), "invalid status") {
		t.Fatalf("SetAppStatus(paused) = %v, want invalid status", err)
	}
	if err := s.SetAppStatus(ctx, "ghost", authz.StatusDisabled); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetAppStatus(ghost) = %v, want ErrNotFound", err)
	}
}

func TestDeleteApp(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	a := mustCreateApp(t, s, "gone")
	keep := mustCreateApp(t, s, "kept")
	if _, err := s.CreateKey(ctx, CreateKeyParams{AppID: "gone", Key: "gone-2-0123456789"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPI(ctx, authz.API{ID: "orders", Methods: []authz.Method{authz.MethodKey}}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []GrantInfo{{API: "orders", AppID: "gone"}, {API: "orders", AppID: "gone", Stage: "TEST"}, {API: "orders", AppID: "kept"}} {
		if err := s.AddGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
	}

	if err := s.DeleteApp(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetApp(ctx, "gone"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetApp after delete = %v", err)
	}
	res, err := s.Lookup(ctx, authz.LookupQuery{
		AppKeys:       []string{"gone-key-0123456789", "gone-2-0123456789", "kept-key-0123456789"},
		AppCodeHashes: []string{authz.HashAppCode(a.AppCode), authz.HashAppCode(keep.AppCode)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Keys) != 1 || res.Keys[authz.HashAppKey("kept-key-0123456789")] == nil {
		t.Errorf("keys after delete = %v, want only kept-key", res.Keys)
	}
	if len(res.AppCodes) != 1 || res.AppCodes[authz.HashAppCode(keep.AppCode)] == nil {
		t.Errorf("AppCodes after delete = %v, want only the kept app's", res.AppCodes)
	}
	grants, err := s.ListGrants(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if len(grants) != 1 || grants[0].AppID != "kept" {
		t.Errorf("grants after delete = %+v, want only kept", grants)
	}
	if n, _ := rdb.Exists(ctx, "appauthz:app:{gone}:keys", "appauthz:app:{gone}:grants").Result(); n != 0 {
		t.Errorf("%d sets of the deleted app remain", n)
	}
	if ok, _ := rdb.SIsMember(ctx, "appauthz:apps", "gone").Result(); ok {
		t.Error("deleted app still in the apps set")
	}

	// Its app_key and AppCode can be reused.
	if _, err := s.CreateApp(ctx, CreateAppParams{Name: "again", Key: "gone-key-0123456789", AppCode: a.AppCode}); err != nil {
		t.Fatalf("reusing the deleted app's key and AppCode: %v", err)
	}
	if err := s.DeleteApp(ctx, "gone"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DeleteApp = %v, want ErrNotFound", err)
	}
}

func TestResetAppCode(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	a := mustCreateApp(t, s, "app1")
	other := mustCreateApp(t, s, "app2")
	old := authz.HashAppCode(a.AppCode)

	code, err := s.ResetAppCode(ctx, "app1", "")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9A-F]{32}$`).MatchString(code) || code == a.AppCode {
		t.Fatalf("generated AppCode %q", code)
	}
	res, err := s.Lookup(ctx, authz.LookupQuery{AppCodeHashes: []string{old, authz.HashAppCode(code)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.AppCodes[old] != nil {
		t.Error("old AppCode still resolves after reset")
	}
	if rec := res.AppCodes[authz.HashAppCode(code)]; rec == nil || rec.AppID != "app1" {
		t.Errorf("new AppCode resolves to %+v", rec)
	}

	// A disabled app's new AppCode is disabled too.
	if err := s.SetAppStatus(ctx, "app1", authz.StatusDisabled); err != nil {
		t.Fatal(err)
	}
	code2, err := s.ResetAppCode(ctx, "app1", "IMPORTED-CODE-42")
	if err != nil || code2 != "IMPORTED-CODE-42" {
		t.Fatalf("ResetAppCode(import) = %q, %v", code2, err)
	}
	res, _ = s.Lookup(ctx, authz.LookupQuery{AppCodeHashes: []string{authz.HashAppCode(code2)}})
	if rec := res.AppCodes[authz.HashAppCode(code2)]; rec == nil || rec.Status != authz.StatusDisabled {
		t.Errorf("new AppCode of a disabled app = %+v, want disabled", rec)
	}

	if _, err := s.ResetAppCode(ctx, "app1", other.AppCode); !errors.Is(err, ErrExists) {
		t.Errorf("reset to another app's AppCode = %v, want ErrExists", err)
	}
	if _, err := s.ResetAppCode(ctx, "ghost", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("reset of unknown app = %v, want ErrNotFound", err)
	}
	if _, err := s.ResetAppCode(ctx, "app1", "x y"); err == nil {
		t.Error("reset to an invalid AppCode succeeded")
	}
}
