package examples_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
)

func TestCurlXCA(t *testing.T) {
	needTools(t, "openssl")
	const ms = 1498165956000
	e := authz.NewEngine(memStore(), authz.WithClock(func() time.Time { return time.UnixMilli(ms) }))
	for i, tc := range []struct{ method, url, body string }{
		{"GET", "https://api.example.com/orders?id=7&q=a+b&q=2&e=&%E4%B8%AD=x", ""},
		{"GET", "https://api.example.com", ""},
		{"POST", "https://api.example.com/orders?dry", `{"name": "bob"}`},
		{"DELETE", "https://api.example.com/orders/7", ""},
	} {
		out := runScript(t, []string{"DRY_RUN=1", "TIMESTAMP=1498165956000", "NONCE=n-" + strconv.Itoa(i), "APP_KEY=" + appKey, "APP_SECRET=" + appSecret}, "xca.sh", tc.method, tc.url, tc.body)
		h := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			n, v, _ := strings.Cut(line, ": ")
			h[strings.ToLower(n)] = v
		}
		req, _ := http.NewRequest(tc.method, tc.url, nil)
		r := &authz.Request{Method: tc.method, Host: req.Host, Path: req.URL.EscapedPath(), RawQuery: req.URL.RawQuery, Headers: h, Body: []byte(tc.body), Context: map[string]string{"api": "demo"}}
		if r.Path == "" {
			r.Path = "/"
		}
		if d := e.Check(context.Background(), r); !d.Allow || d.Identity.Method != authz.MethodXCA {
			t.Errorf("%s %s: %s %s %v\n%s", tc.method, tc.url, d.Reason, d.Message, d.ResponseHeaders, out)
		}
	}

	// And for real, through curl.
	needTools(t, "curl")
	srv := gateway(t, time.Now)
	out := runScript(t, []string{"APP_KEY=" + appKey, "APP_SECRET=" + appSecret}, "xca.sh", "PUT", srv.URL+"/orders/7?v=a+b", `{"a":1}`)
	if !strings.HasPrefix(out, "OK demo-app") {
		t.Errorf("curl through the gateway: %s", out)
	}
	out = runScript(t, []string{"APP_KEY=" + appKey, "APP_SECRET=wrong"}, "xca.sh", "GET", srv.URL+"/orders")
	if !strings.HasPrefix(out, "InvalidSignature") {
		t.Errorf("wrong secret: %s", out)
	}
}
