package benchtest

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/authz/oauth2"
	"github.com/appauthz/appauthz/authz/sign"
	"github.com/appauthz/appauthz/store"
	"github.com/appauthz/appauthz/store/redistest"
)

// Credentials of the in-process benchmarks.
const (
	benchKey    = "bench-key-0123456789"
	benchSecret = "bench-secret-0123456789abcdef"
	benchToken  = "bench-token-0123456789abcdef0123456789"
)

// benchWorld is the production decision path minus the network: the
// extauthz Server (convert, decide, respond, metrics), the engine, the
// cache and the store on a real redis-server.
type benchWorld struct {
	srv  *extauthz.Server
	eng  extauthz.Decider
	hook *redistest.CountingHook
}

func newBenchWorld(b *testing.B) *benchWorld {
	b.Helper()
	rs := redistest.Start(b)
	rdb, err := store.OpenURL(rs.URL()) // the client authzd uses, as tuned
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rdb.Close() })
	st := store.New(rdb)
	ctx := context.Background()
	if err := st.CreateAPI(ctx, authz.API{
		ID:      "demo",
		Methods: []authz.Method{authz.MethodAppCode, authz.MethodKey, authz.MethodHMAC, authz.MethodParamSign, authz.MethodOAuth2, authz.MethodXCA},
		// The production defaults: AppCode in the header, grants required,
		// the replay guard on.
		AppCodeMode: authz.AppCodeHeader, Access: authz.AccessAuthorized, ReplayProtection: true,
	}); err != nil {
		b.Fatal(err)
	}
	if _, err := st.CreateApp(ctx, store.CreateAppParams{ID: "demo-app", Name: "Demo App", AppCode: testAppCode, Key: benchKey, Secret: benchSecret}); err != nil {
		b.Fatal(err)
	}
	if err := st.AddGrant(ctx, store.GrantInfo{API: "demo", AppID: "demo-app", Stage: authz.DefaultStage}); err != nil {
		b.Fatal(err)
	}
	if err := st.SaveToken(ctx, oauth2.Token{Hash: authz.HashToken(benchToken), AppID: "demo-app", KeyID: "kid_bench", KeyHash: authz.HashAppKey(benchKey), TTL: time.Hour}); err != nil {
		b.Fatal(err)
	}
	if err := st.LoadScripts(ctx); err != nil {
		b.Fatal(err)
	}
	c, err := store.NewCache(st, store.CacheConfig{})
	if err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(runCtx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(10 * time.Second); !c.Subscribed(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the cache did not subscribe to invalidations")
		}
	}
	hook := &redistest.CountingHook{}
	rdb.AddHook(hook)
	// A JSON logger at INFO, as in production: allows are not logged.
	eng := authz.NewEngine(c)
	srv, err := extauthz.NewServer(eng, extauthz.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	return &benchWorld{srv: srv, eng: eng, hook: hook}
}

// benchRequest is an Envoy-shaped request: the headers a browser or SDK
// sends, plus what Envoy adds.
func benchRequest(tb testing.TB, method, url string, h http.Header) *authv3.CheckRequest {
	tb.Helper()
	h.Set("Accept", "application/json")
	h.Set("User-Agent", "bench/1.0")
	h.Set("X-Request-Id", "6c8e1b5c-8f0e-4a44-9b0e-2f4f2b9c6d11")
	h.Set("X-Forwarded-Proto", "https")
	return mustCheckRequest(tb, extauthz.HTTPRequest{Method: method, URL: url, Header: h, ContextExtensions: map[string]string{"api": "demo"}})
}

// BenchmarkCheck is one allowed Check per method through the whole
// in-process path with a warm cache. AppCode, key and OAuth2 Checks... see
// docs/performance.md for the figures and the exact command:
//
//	go test -run '^$' -bench '^BenchmarkCheck$' -benchmem -count 5 ./authz/extauthz/benchtest | tee new.txt
//	benchstat new.txt
func BenchmarkCheck(b *testing.B) {
	w := newBenchWorld(b)
	ctx := context.Background()
	fixed := map[string]*authv3.CheckRequest{
		"appcode": benchRequest(b, "GET", "http://api.example.com/demo/items?page=2", http.Header{"Authorization": {"APPCODE " + testAppCode}}),
		"key":     benchRequest(b, "GET", "http://api.example.com/demo/items?page=2", http.Header{"X-App-Key": {benchKey}}),
		"oauth2":  benchRequest(b, "GET", "http://api.example.com/demo/items?page=2", http.Header{"Authorization": {"Bearer " + benchToken}}),
	}
	// Round trips per Check on a warm cache: AppCode and key none; a
	// bearer token is read each time (tokens expire in Redis silently).
	wantRT := map[string]int64{"appcode": 0, "key": 0, "oauth2": 1, "hmac": 1, "paramsign": 1, "xca": 1}
	for _, m := range []string{"appcode", "key", "oauth2"} {
		b.Run(m, func(b *testing.B) {
			cr := fixed[m]
			mustAllow(b, w.srv, cr) // warm
			w.hook.Reset()
			b.ReportAllocs()
			n := int64(0)
			for b.Loop() {
				resp, _ := w.srv.Check(ctx, cr)
				if resp.GetStatus().GetCode() != int32(codes.OK) {
					b.Fatalf("Check = %v; want allow", resp)
				}
				n++
			}
			reportRoundTrips(b, w.hook, n, wantRT[m])
		})
	}
	// Signatures: every request is signed afresh (a replayed one is
	// refused), before the timer starts.
	signers := map[string]func(tb testing.TB, i int) *authv3.CheckRequest{
		"hmac": func(tb testing.TB, i int) *authv3.CheckRequest {
			uri := "/demo/items?page=" + strconv.Itoa(i)
			s, err := sign.HMAC{Key: benchKey, Secret: benchSecret}.Sign(sign.HMACRequest{Method: "GET", RequestURI: uri, Host: "api.example.com"})
			if err != nil {
				tb.Fatal(err)
			}
			h := http.Header{}
			s.Apply(h)
			return benchRequest(tb, "GET", "http://api.example.com"+uri, h)
		},
		"paramsign": func(tb testing.TB, i int) *authv3.CheckRequest {
			s, err := sign.Params{Key: benchKey, Secret: benchSecret, Timestamp: time.Now()}.Sign(sign.ParamRequest{URL: "http://api.example.com/demo/items?page=" + strconv.Itoa(i)}, sign.InQuery)
			if err != nil {
				tb.Fatal(err)
			}
			return benchRequest(tb, "GET", s.URL, http.Header{})
		},
		"xca": func(tb testing.TB, i int) *authv3.CheckRequest {
			uri := "/demo/items?page=" + strconv.Itoa(i)
			h := http.Header{"Accept": {"application/json"}}
			s, err := sign.XCA{Key: benchKey, Secret: benchSecret}.Sign(sign.XCARequest{Method: "GET", RequestURI: uri, Header: h})
			if err != nil {
				tb.Fatal(err)
			}
			s.Apply(h)
			return benchRequest(tb, "GET", "http://api.example.com"+uri, h)
		},
	}
	seq := 0 // the framework runs each sub-benchmark several times
	for _, m := range []string{"hmac", "paramsign", "xca"} {
		b.Run(m, func(b *testing.B) {
			seq++
			mustAllow(b, w.srv, signers[m](b, seq)) // warm
			reqs := make([]*authv3.CheckRequest, b.N)
			for i := range reqs {
				seq++
				reqs[i] = signers[m](b, seq)
			}
			w.hook.Reset()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				resp, _ := w.srv.Check(ctx, reqs[i])
				if resp.GetStatus().GetCode() != int32(codes.OK) {
					b.Fatalf("Check = %v; want allow", resp)
				}
			}
			b.StopTimer()
			reportRoundTrips(b, w.hook, int64(b.N), wantRT[m])
		})
	}
}

func mustAllow(tb testing.TB, srv *extauthz.Server, cr *authv3.CheckRequest) {
	tb.Helper()
	resp, err := srv.Check(context.Background(), cr)
	if err != nil || resp.GetStatus().GetCode() != int32(codes.OK) {
		tb.Fatalf("Check = %v, %v; want allow", resp, err)
	}
}

// reportRoundTrips reports Redis round trips per Check and fails when
// they are not what the design promises.
func reportRoundTrips(b *testing.B, hook *redistest.CountingHook, checks, want int64) {
	b.Helper()
	got := float64(hook.RoundTrips()) / float64(checks)
	b.ReportMetric(got, "redis-rt/op")
	// A record past the cache TTL (30s) is fetched again: that is one
	// round trip per record per TTL, not per Check.
	if math.Abs(got-float64(want)) > 0.01 {
		b.Errorf("%.3f Redis round trips per Check, want %d", got, want)
	}
}
