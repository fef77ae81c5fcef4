package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/health"

	"github.com/appauthz/appauthz/authz"
)

// A secret that does not open is reported in /readyz's body for
// decryptWindow after the last such deny, while readiness itself keeps
// following Redis; other store failures are not reported there.
func TestReadyzReportsDecryptFailures(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	r := newReadiness(health.NewServer(), slog.New(slog.DiscardHandler), false)
	r.decrypt.now = func() time.Time { return now }
	srv := httptest.NewServer(newHTTPServer("", r, prometheus.NewRegistry()).Handler)
	defer srv.Close()
	readyz := func() (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	r.set(nil)

	steps := []struct {
		name       string
		do         func()
		wantStatus int
		wantReport bool
	}{
		{"healthy", func() {}, 200, false},
		{"timeouts are not a master-key problem", func() { r.storeFailed(authz.StoreFailure{Cause: authz.CauseTimeout}) }, 200, false},
		{"a secret did not open", func() {
			r.storeFailed(authz.StoreFailure{Cause: authz.CauseDecrypt})
			now = now.Add(time.Minute)
			r.storeFailed(authz.StoreFailure{Cause: authz.CauseDecrypt})
		}, 200, true},
		{"Redis down as well", func() { r.set(io.ErrUnexpectedEOF) }, 503, true},
		{"Redis back, within the window", func() { r.set(nil); now = now.Add(decryptWindow) }, 200, true},
		{"after the window", func() { now = now.Add(time.Second) }, 200, false},
	}
	for _, s := range steps {
		s.do()
		status, body := readyz()
		if status != s.wantStatus {
			t.Errorf("%s: /readyz = %d; want %d", s.name, status, s.wantStatus)
		}
		if got := strings.Contains(body, "master key"); got != s.wantReport {
			t.Errorf("%s: /readyz body %q; want a master-key report: %v", s.name, body, s.wantReport)
		}
	}
	if _, body := readyz(); strings.Contains(body, "2 Check") {
		t.Errorf("an old run of failures is still counted: %q", body)
	}
	r.storeFailed(authz.StoreFailure{Cause: authz.CauseDecrypt})
	if _, body := readyz(); !strings.Contains(body, "1 Check(s)") {
		t.Errorf("a new run of failures should start its own count: %q", body)
	}
}
