package extauthz

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/proto"

	"github.com/appauthz/appauthz/authz"
)

// FuzzToRequest feeds arbitrary wire bytes, as a broken or hostile peer
// could send, through the adapter. It must never panic, and what it
// accepts must be a well-formed Request; what it rejects must map to a
// well-formed BadRequest deny. Seeds: the protojson fixtures plus
// testdata/fuzz/FuzzToRequest.
//
//	go test -run '^$' -fuzz FuzzToRequest ./authz/extauthz
func FuzzToRequest(f *testing.F) {
	fixtures, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range fixtures {
		b, err := proto.Marshal(loadFixture(f, filepath.Base(name)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := &authv3.CheckRequest{}
		if err := proto.Unmarshal(data, cr); err != nil {
			return
		}
		r, err := ToRequest(cr)
		if err != nil {
			resp := ToResponse(authz.Decision{Reason: authz.ReasonBadRequest, Message: err.Error()})
			var body denyBody
			if jerr := json.Unmarshal([]byte(resp.GetDeniedResponse().GetBody()), &body); jerr != nil || body.Code != "BadRequest" {
				t.Fatalf("bad deny body %q: %v", resp.GetDeniedResponse().GetBody(), jerr)
			}
			return
		}
		if r.Method == "" || (!strings.HasPrefix(r.Path, "/") && r.Path != "*") {
			t.Fatalf("accepted a request without method or path: %+v", r)
		}
		if strings.Contains(r.Path, "?") {
			t.Fatalf("path %q still holds the query", r.Path)
		}
		for k := range r.Headers {
			if k != strings.ToLower(k) {
				t.Fatalf("header key %q not lowercase", k)
			}
		}
		checkLimits(t, cr, err)
	})
}

// checkLimits fails when a CheckRequest over DefaultLimits was accepted.
func checkLimits(t *testing.T, cr *authv3.CheckRequest, err error) {
	t.Helper()
	h := cr.GetAttributes().GetRequest().GetHttp()
	n, size := len(h.GetHeaders()), 0
	for k, v := range h.GetHeaders() {
		size += len(k) + len(v)
	}
	if n == 0 {
		n = len(h.GetHeaderMap().GetHeaders())
		for _, hv := range h.GetHeaderMap().GetHeaders() {
			size += len(hv.GetKey()) + headerValueLen(hv)
		}
	}
	over := n > DefaultMaxHeaders || size > DefaultMaxHeaderBytes || len(h.GetPath()) > DefaultMaxHeaderBytes
	if over && err == nil {
		t.Fatalf("accepted %d header fields of %d bytes (path %d bytes); want ErrTooLarge", n, size, len(h.GetPath()))
	}
}

// FuzzHeaderShapes builds the header shapes of a flood: one name repeated
// in header_map (raw mode) or as case variants in headers, with a value of
// any bytes and size. Whatever the shape, conversion stays within the
// limits, joins repeats exactly as Envoy would, and the answer — an allow
// echoing the value as operator data, or the BadRequest deny — marshals.
// Seeds: testdata/fuzz/FuzzHeaderShapes.
//
//	go test -run '^$' -fuzz FuzzHeaderShapes ./authz/extauthz
func FuzzHeaderShapes(f *testing.F) {
	f.Fuzz(func(t *testing.T, name string, value []byte, repeats uint16, valueRepeat uint16, raw bool) {
		if name == "" || strings.HasPrefix(name, ":") {
			return
		}
		v := strings.Repeat(string(value), int(valueRepeat%1024)+1)
		n := int(repeats % 2048)
		if len(v) > 0 && n*len(v) > 8<<20 { // enough to cross every limit
			n = (8 << 20) / len(v)
		}
		var cr *authv3.CheckRequest
		if raw {
			cr = headerMapRequest(repeatedEntries(n, name, v)...)
		} else {
			hs := map[string]string{}
			for i := range n {
				hs[caseVariant(name, i)] = v
			}
			cr = headersRequest(hs)
		}
		r, err := ToRequest(cr)
		checkLimits(t, cr, err)
		var d authz.Decision
		if err != nil {
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v wraps neither ErrTooLarge nor ErrMalformed", err)
			}
			d = authz.Decision{Reason: authz.ReasonBadRequest, Message: err.Error()}
		} else {
			got, want := r.Headers[strings.ToLower(name)], joinedRepeats(cr, strings.ToLower(name))
			if got != want {
				t.Fatalf("%q = %d bytes; want %d bytes (%d repeats joined with ',')", name, len(got), len(want), n)
			}
			d = authz.Decision{Allow: true, Reason: authz.ReasonOK,
				Identity:     authz.Identity{AppID: "a", AppName: got, Scopes: []string{got}},
				HeadersToSet: []authz.HeaderValue{{Name: authz.HeaderAppName, Value: got}}}
		}
		if _, err := proto.Marshal(ToResponse(d)); err != nil {
			t.Fatalf("the response does not marshal: %v", err)
		}
	})
}

// caseVariant is name with the letters chosen by the bits of i upper-cased:
// distinct map keys that Envoy would have sent as one joined header.
func caseVariant(name string, i int) string {
	b := []byte(name)
	for j, bit := 0, 0; j < len(b) && bit < 30; j++ {
		if b[j] >= 'a' && b[j] <= 'z' {
			if i&(1<<bit) != 0 {
				b[j] -= 'a' - 'A'
			}
			bit++
		}
	}
	return string(b)
}

// joinedRepeats is what Envoy would put in `headers` for name: every value
// of that name, in order (sorted keys for a `headers` map), joined by ",".
func joinedRepeats(cr *authv3.CheckRequest, name string) string {
	h := cr.GetAttributes().GetRequest().GetHttp()
	var vs []string
	if len(h.GetHeaders()) > 0 {
		for _, k := range slices.Sorted(maps.Keys(h.GetHeaders())) {
			if strings.ToLower(k) == name {
				vs = append(vs, h.GetHeaders()[k])
			}
		}
	} else {
		for _, hv := range h.GetHeaderMap().GetHeaders() {
			if strings.ToLower(hv.GetKey()) == name {
				vs = append(vs, headerValue(hv))
			}
		}
	}
	return strings.Join(vs, ",")
}

// FuzzHeaderSafe: whatever operator data holds, the sanitized value is
// UTF-8 without control characters, unchanged when it already was, and
// marshals as a header and as metadata.
//
//	go test -run '^$' -fuzz FuzzHeaderSafe ./authz/extauthz
func FuzzHeaderSafe(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		got := headerSafe(s)
		if !utf8.ValidString(got) || strings.ContainsFunc(got, unicode.IsControl) {
			t.Fatalf("headerSafe(%q) = %q; want UTF-8 without control characters", s, got)
		}
		if utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl) && got != s {
			t.Fatalf("headerSafe(%q) = %q; want it unchanged", s, got)
		}
		if utf8.RuneCountInString(got) != utf8.RuneCountInString(s) {
			t.Fatalf("headerSafe(%q) = %q; want one character per character or bad byte", s, got)
		}
		resp := ToResponse(authz.Decision{Allow: true, Reason: authz.ReasonOK, Identity: authz.Identity{AppName: s},
			HeadersToSet: []authz.HeaderValue{{Name: authz.HeaderAppName, Value: s}}})
		if _, err := proto.Marshal(resp); err != nil {
			t.Fatalf("the response does not marshal: %v", err)
		}
	})
}

// TestFuzzCorpusPresent keeps the checked-in seed corpora from silently
// disappearing: `go test` replays them on every run.
func TestFuzzCorpusPresent(t *testing.T) {
	for _, target := range []string{"FuzzToRequest", "FuzzHeaderShapes", "FuzzHeaderSafe"} {
		entries, err := os.ReadDir(filepath.Join("testdata", "fuzz", target))
		if err != nil || len(entries) == 0 {
			t.Errorf("seed corpus testdata/fuzz/%s is missing or empty: %v", target, err)
		}
	}
}
