package extauthz

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewCheckRequestGET(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	cr, err := NewCheckRequest(HTTPRequest{
		Method: "GET",
		URL:    "http://api.example.com:8080/a%2Fb/./c?AppCode=x%20y&flag#frag",
		Header: http.Header{
			"Authorization":             {"APPCODE abc"},
			"Accept":                    {"text/plain", "application/json"},
			"X-Envoy-Auth-Partial-Body": {"true"}, // a client cannot forge it
		},
		ContextExtensions: map[string]string{"api": "demo"},
		SourceAddr:        "10.1.2.3:4567",
		Now:               now,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := cr.GetAttributes().GetRequest().GetHttp()
	if got, want := h.GetPath(), "/a%2Fb/./c?AppCode=x%20y&flag"; got != want {
		t.Errorf("path = %q; want %q (as written, no fragment, no normalization)", got, want)
	}
	if h.GetHost() != "api.example.com:8080" || h.GetMethod() != "GET" || h.GetScheme() != "http" || h.GetProtocol() != "HTTP/1.1" {
		t.Errorf("host/method/scheme/protocol = %q %q %q %q", h.GetHost(), h.GetMethod(), h.GetScheme(), h.GetProtocol())
	}
	if _, err := strconv.ParseUint(h.GetId(), 10, 64); err != nil {
		t.Errorf("id %q is not a decimal stream id", h.GetId())
	}
	want := map[string]string{
		":authority":        "api.example.com:8080",
		":method":           "GET",
		":path":             "/a%2Fb/./c?AppCode=x%20y&flag",
		":scheme":           "http",
		"authorization":     "APPCODE abc",
		"accept":            "text/plain,application/json",
		"x-forwarded-proto": "http",
	}
	for k, v := range want {
		if h.GetHeaders()[k] != v {
			t.Errorf("header %q = %q; want %q", k, h.GetHeaders()[k], v)
		}
	}
	if !uuidRE.MatchString(h.GetHeaders()["x-request-id"]) {
		t.Errorf("x-request-id = %q; want a generated UUID", h.GetHeaders()["x-request-id"])
	}
	if h.GetHeaders()["x-request-id"] == h.GetId() {
		t.Error("http.id must be the stream id, not x-request-id")
	}
	if len(h.GetHeaders()) != len(want)+1 {
		t.Errorf("headers = %v; want exactly %d keys (no host, no body headers)", h.GetHeaders(), len(want)+1)
	}
	for k := range h.GetHeaders() {
		if k != strings.ToLower(k) {
			t.Errorf("header key %q is not lowercase", k)
		}
	}
	if h.GetRawBody() != nil || h.GetBody() != "" || h.GetSize() != 0 || h.GetHeaderMap() != nil {
		t.Errorf("GET without body has body fields: raw=%q body=%q size=%d", h.GetRawBody(), h.GetBody(), h.GetSize())
	}
	attrs := cr.GetAttributes()
	if sa := attrs.GetSource().GetAddress().GetSocketAddress(); sa.GetAddress() != "10.1.2.3" || sa.GetPortValue() != 4567 {
		t.Errorf("source = %v", sa)
	}
	if !attrs.GetRequest().GetTime().AsTime().Equal(now) {
		t.Errorf("time = %v; want %v", attrs.GetRequest().GetTime().AsTime(), now)
	}
	if attrs.GetContextExtensions()["api"] != "demo" {
		t.Errorf("context_extensions = %v", attrs.GetContextExtensions())
	}
	// A CheckRequest must survive the wire (proto strings must be UTF-8).
	if _, err := proto.Marshal(cr); err != nil {
		t.Errorf("marshal: %v", err)
	}
}

func TestNewCheckRequestBody(t *testing.T) {
	body := []byte("a=1&b=\xff")
	cr, err := NewCheckRequest(HTTPRequest{
		Method:   "POST",
		URL:      "https://h.example/form",
		Header:   http.Header{"Host": {"virtual.example"}, "X-Request-Id": {"rid-1"}, "X-Bad": {"caf\xe9"}},
		Body:     body,
		Protocol: "HTTP/2",
	})
	if err != nil {
		t.Fatal(err)
	}
	h := cr.GetAttributes().GetRequest().GetHttp()
	if string(h.GetRawBody()) != string(body) || h.GetSize() != int64(len(body)) || h.GetBody() != "" {
		t.Errorf("raw_body=%q size=%d body=%q; want the exact bytes in raw_body (pack_as_bytes)", h.GetRawBody(), h.GetSize(), h.GetBody())
	}
	for k, v := range map[string]string{
		"content-length":            strconv.Itoa(len(body)),
		"x-envoy-auth-partial-body": "false",
		":authority":                "virtual.example",
		"x-request-id":              "rid-1",
		"x-forwarded-proto":         "https",
		"x-bad":                     "caf!",
	} {
		if h.GetHeaders()[k] != v {
			t.Errorf("header %q = %q; want %q", k, h.GetHeaders()[k], v)
		}
	}
	if _, ok := h.GetHeaders()["host"]; ok {
		t.Error("host key present; Envoy has only :authority")
	}
	if h.GetHost() != "virtual.example" || h.GetProtocol() != "HTTP/2" {
		t.Errorf("host=%q protocol=%q", h.GetHost(), h.GetProtocol())
	}

	// What Envoy built, ToRequest reads back.
	r, err := ToRequest(cr)
	if err != nil {
		t.Fatal(err)
	}
	if r.Host != "virtual.example" || r.Path != "/form" || r.RequestID != "rid-1" || string(r.Body) != string(body) || r.BodyTruncated {
		t.Errorf("round trip = %+v", r)
	}
}

func TestNewCheckRequestRawHeaders(t *testing.T) {
	cr, err := NewCheckRequest(HTTPRequest{
		Method:     "GET",
		URL:        "http://h/x?q=1",
		Header:     http.Header{"X-Dup": {"a", "b"}, "X-Latin1": {"caf\xe9"}},
		RawHeaders: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := cr.GetAttributes().GetRequest().GetHttp()
	if len(h.GetHeaders()) != 0 {
		t.Fatalf("raw mode filled headers: %v", h.GetHeaders())
	}
	var dups []string
	var keys []string
	for _, hv := range h.GetHeaderMap().GetHeaders() {
		keys = append(keys, hv.GetKey())
		if hv.GetValue() != "" {
			t.Errorf("%s: value set; raw mode uses raw_value", hv.GetKey())
		}
		switch hv.GetKey() {
		case "x-dup":
			dups = append(dups, string(hv.GetRawValue()))
		case "x-latin1":
			if string(hv.GetRawValue()) != "caf\xe9" {
				t.Errorf("x-latin1 raw = %q; want the exact bytes", hv.GetRawValue())
			}
		}
	}
	if strings.Join(dups, "|") != "a|b" {
		t.Errorf("x-dup entries = %v; want two separate entries a, b", dups)
	}
	if strings.Join(keys[:4], " ") != ":authority :method :path :scheme" {
		t.Errorf("header_map starts with %v; want the pseudo-headers first", keys[:4])
	}
	r, err := ToRequest(cr)
	if err != nil {
		t.Fatal(err)
	}
	if r.Headers["x-dup"] != "a,b" || r.Headers["x-latin1"] != "caf\xe9" || r.RawQuery != "q=1" {
		t.Errorf("round trip headers = %v query=%q", r.Headers, r.RawQuery)
	}
}

func TestNewCheckRequestPaths(t *testing.T) {
	for url, want := range map[string]string{
		"http://h":            "/",
		"http://h?x=1":        "/?x=1",
		"http://h#f":          "/",
		"http://u:p@h:1/a?b":  "/a?b",
		"HTTP://h/A//B?c=%41": "/A//B?c=%41",
	} {
		cr, err := NewCheckRequest(HTTPRequest{Method: "GET", URL: url})
		if err != nil {
			t.Errorf("%s: %v", url, err)
			continue
		}
		if got := cr.GetAttributes().GetRequest().GetHttp().GetPath(); got != want {
			t.Errorf("%s: path = %q; want %q", url, got, want)
		}
	}
}

func TestNewCheckRequestErrors(t *testing.T) {
	tests := map[string]HTTPRequest{
		"no method":         {URL: "http://h/"},
		"bad method":        {Method: "GE T", URL: "http://h/"},
		"relative URL":      {Method: "GET", URL: "/demo"},
		"ftp URL":           {Method: "GET", URL: "ftp://h/"},
		"unparsable URL":    {Method: "GET", URL: "http://h/%zz"},
		"bad header name":   {Method: "GET", URL: "http://h/", Header: http.Header{"Bad Name": {"v"}}},
		"bad header value":  {Method: "GET", URL: "http://h/", Header: http.Header{"X": {"a\nb"}}},
		"bad protocol":      {Method: "GET", URL: "http://h/", Protocol: "SPDY"},
		"bad source":        {Method: "GET", URL: "http://h/", SourceAddr: "10.0.0.1"},
		"bad source port":   {Method: "GET", URL: "http://h/", SourceAddr: "10.0.0.1:99999"},
		"pseudo header arg": {Method: "GET", URL: "http://h/", Header: http.Header{":path": {"/x"}}},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			cr, err := NewCheckRequest(in)
			if err == nil {
				t.Fatalf("NewCheckRequest = %v; want an error", cr)
			}
		})
	}
}
