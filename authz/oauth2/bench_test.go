package oauth2_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/oauth2"
	"github.com/appauthz/appauthz/store"
	"github.com/appauthz/appauthz/store/redistest"
)

// benchWorld: a real redis-server, the store with a master key, an app
// with one key, and an API that accepts its tokens.
func benchWorld(b *testing.B) (*store.Store, store.CreatedApp) {
	b.Helper()
	kr, _ := store.NewRandomKeyring()
	st := store.New(redistest.Start(b).Client(b), store.WithKeyring(kr))
	ctx := context.Background()
	if err := st.CreateAPI(ctx, authz.API{ID: "orders", Methods: []authz.Method{authz.MethodOAuth2}, Access: authz.AccessAuthorized,
		MethodScopes: map[string][]string{"GET": {"orders:read"}}}); err != nil {
		b.Fatal(err)
	}
	app, err := st.CreateApp(ctx, store.CreateAppParams{ID: "shop", Name: "Shop"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.CreateKey(ctx, store.CreateKeyParams{AppID: "shop", Key: "rw", Secret: "rw-secret-0001", Scopes: []string{"orders:read"}}); err != nil {
		b.Fatal(err)
	}
	if err := st.AddGrant(ctx, store.GrantInfo{API: "orders", AppID: "shop", Stage: authz.DefaultStage}); err != nil {
		b.Fatal(err)
	}
	return st, app
}

func issue(b *testing.B, mux *http.ServeMux) string {
	req := httptest.NewRequest("POST", "/oauth2/token", strings.NewReader("grant_type=client_credentials&scope=orders:read"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("rw", "rw-secret-0001")
	req.RemoteAddr = "192.0.2.1:5000"
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatalf("token: %d %s", rec.Code, rec.Body.String())
	}
	var resp struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		b.Fatal(err)
	}
	return resp.AccessToken
}

// BenchmarkTokenIssue: POST /oauth2/token through the handler: client
// lookup with failure counters (one pipeline), AES-GCM open of the secret,
// constant-time compare, tokens.lua (one script).
func BenchmarkTokenIssue(b *testing.B) {
	st, _ := benchWorld(b)
	mux := http.NewServeMux()
	oauth2.New(st).Register(mux)
	b.ReportAllocs()
	for b.Loop() {
		issue(b, mux)
	}
}

// BenchmarkCheckBearer: a Check carrying a bearer token through the real
// engine and store: one GET of the token with the API, one pipeline for
// the app and its grant.
func BenchmarkCheckBearer(b *testing.B) {
	st, _ := benchWorld(b)
	mux := http.NewServeMux()
	oauth2.New(st).Register(mux)
	tok := issue(b, mux)
	e := authz.NewEngine(st)
	r := &authz.Request{Method: "GET", Host: "api.example.com", Path: "/orders/1", Headers: map[string]string{"authorization": "Bearer " + tok},
		Context: map[string]string{"api": "orders"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d := e.Check(ctx, r); !d.Allow {
			b.Fatalf("denied: %s %s", d.Reason, d.Message)
		}
	}
}
