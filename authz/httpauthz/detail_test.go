package httpauthz

import (
	"bytes"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/authz"
)

// TestDenyDetailIsLoggedNotSent: the operator's hint in Decision.Detail
// reaches the log line of an HTTP-mode deny and never the caller's body.
func TestDenyDetailIsLoggedNotSent(t *testing.T) {
	var logs bytes.Buffer
	d := authz.Decision{Reason: authz.ReasonNotAuthorized, Message: authz.ReasonNotAuthorized.DefaultMessage(),
		Detail: "app \"a1\" has no grant: add one with `authzctl grant add`"}
	h, err := New(&recorder{d: d}, WithTrustedProxies(proxies), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	resp := serve(h, httptest.NewRequest("GET", "http://h/envoy/x", nil))
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || strings.Contains(string(body), "authzctl") {
		t.Errorf("caller got %d %q, want 403 without the operator hint", resp.StatusCode, body)
	}
	if !strings.Contains(logs.String(), "detail=") || !strings.Contains(logs.String(), "authzctl grant add") {
		t.Errorf("log %q lacks the detail", logs.String())
	}
}
