package benchtest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/appauthz/appauthz/authz/httpauthz"
)

// BenchmarkTransport compares one allowed Check through the gRPC ext_authz
// path and through the HTTP authorization mode (authz/httpauthz), on the
// same engine, cache and redis-server as BenchmarkCheck: in process (the
// adapters' own cost: convert, decide, respond) and over loopback (plus
// each protocol's client and server). Figures: docs/performance.md.
//
//	go test -run '^$' -bench '^BenchmarkTransport$' -benchmem -count 5 ./authz/extauthz/benchtest | tee new.txt
//	benchstat new.txt
func BenchmarkTransport(b *testing.B) {
	w := newBenchWorld(b)
	ctx := context.Background()
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	handler, err := httpauthz.New(w.eng, httpauthz.WithLogger(quiet),
		httpauthz.WithTrustedProxies(httpauthz.Trusted{netip.MustParsePrefix("127.0.0.1/32")}))
	if err != nil {
		b.Fatal(err)
	}
	creds := map[string]http.Header{
		"appcode": {"Authorization": {"APPCODE " + testAppCode}},
		"key":     {"X-App-Key": {benchKey}},
	}
	// forwardAuth is what nginx's auth_request sends for the same request
	// benchRequest describes to the gRPC path.
	forwardAuth := func(url string, cred http.Header) *http.Request {
		r := httptest.NewRequest("GET", url, nil)
		r.RemoteAddr = "127.0.0.1:40000"
		for k, v := range cred {
			r.Header[k] = v
		}
		r.Header.Set("Accept", "application/json")
		r.Header.Set("User-Agent", "bench/1.0")
		r.Header.Set("X-Request-Id", "6c8e1b5c-8f0e-4a44-9b0e-2f4f2b9c6d11")
		r.Header.Set("X-Original-Method", "GET")
		r.Header.Set("X-Original-Uri", "/demo/items?page=2")
		r.Header.Set("X-Forwarded-Host", "api.example.com")
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-For", "198.51.100.7")
		r.Header.Set("X-Appauthz-Api", "demo")
		return r
	}

	for _, m := range []string{"appcode", "key"} {
		cr := benchRequest(b, "GET", "http://api.example.com/demo/items?page=2", creds[m].Clone())
		b.Run("inproc/grpc/"+m, func(b *testing.B) {
			mustAllow(b, w.srv, cr)
			b.ReportAllocs()
			for b.Loop() {
				resp, _ := w.srv.Check(ctx, cr)
				if resp.GetStatus().GetCode() != int32(codes.OK) {
					b.Fatalf("Check = %v; want allow", resp)
				}
			}
		})
		b.Run("inproc/http/"+m, func(b *testing.B) {
			r := forwardAuth("http://authzd/auth", creds[m])
			rw := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(rw.h)
				handler.ServeHTTP(rw, r)
				if rw.status != http.StatusOK {
					b.Fatalf("status %d; want 200", rw.status)
				}
			}
		})
		b.Run("loopback/grpc/"+m, func(b *testing.B) {
			h := startServer(b, w.eng)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := h.client.Check(ctx, cr)
				if err != nil || resp.GetStatus().GetCode() != int32(codes.OK) {
					b.Fatalf("Check = %v, %v; want allow", resp, err)
				}
			}
		})
		b.Run("loopback/http/"+m, func(b *testing.B) {
			srv := httptest.NewServer(handler)
			defer srv.Close()
			client := srv.Client()
			r := forwardAuth(srv.URL+"/auth", creds[m])
			r.RequestURI = ""
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Do(r)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d; want 200", resp.StatusCode)
				}
			}
		})
	}
}

// discardWriter is an http.ResponseWriter that keeps only the status.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(s int)           { d.status = s }
