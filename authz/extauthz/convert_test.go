package extauthz

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/appauthz/appauthz/authz"
)

// loadFixture reads a protojson CheckRequest from testdata. Unmarshal is
// strict, so a fixture with a misspelled field fails here.
func loadFixture(t testing.TB, name string) *authv3.CheckRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	cr := &authv3.CheckRequest{}
	if err := protojson.Unmarshal(b, cr); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cr
}

func TestToRequest(t *testing.T) {
	tests := map[string]struct {
		fixture string
		want    *authz.Request
	}{
		"envoy sample (ENVOY-FACTS 1.2)": {
			fixture: "envoy_sample.json",
			want: &authz.Request{
				Method:   "POST",
				Host:     "api.example.com",
				Path:     "/orders",
				RawQuery: "x=1&y=2",
				Scheme:   "http",
				Protocol: "HTTP/1.1",
				Headers: map[string]string{
					":authority": "api.example.com", ":method": "POST", ":path": "/orders?x=1&y=2", ":scheme": "http",
					"accept": "application/json", "content-length": "17", "content-type": "application/json",
					"x-forwarded-proto": "http", "x-request-id": "eed3400a-64fc-450b-9315-d30a080f244e",
					"x-envoy-auth-partial-body": "false",
				},
				Body:       []byte(`{"a":1}`),
				Context:    map[string]string{"virtual_host": "api", "api_group": "orders"},
				RequestID:  "eed3400a-64fc-450b-9315-d30a080f244e",
				SourceAddr: "10.0.0.7:52184",
				Time:       time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC),
			},
		},
		"header_map (encode_raw_headers): duplicates joined, raw bytes kept": {
			fixture: "header_map.json",
			want: &authz.Request{
				Method:   "GET",
				Host:     "api.example.com",
				Path:     "/v1/items",
				RawQuery: "AppCode=abc&page=2",
				Scheme:   "https",
				Protocol: "HTTP/2",
				Headers: map[string]string{
					":authority": "api.example.com", ":method": "GET", ":path": "/v1/items?AppCode=abc&page=2", ":scheme": "https",
					"accept": "text/plain", "x-custom": "a,b", "authorization": "APPCODE 3F2504E04F8911D39A0C0305E82C3301",
					"x-latin1": "caf\xe9", "x-request-id": "7b4f1f3c-1b1e-4a53-9b0e-0d9a0b7f6a11",
				},
				Context:    map[string]string{"api": "items", "stage": "TEST"},
				RequestID:  "7b4f1f3c-1b1e-4a53-9b0e-0d9a0b7f6a11",
				SourceAddr: "[2001:db8::1]:443",
				Time:       time.Date(2026, 11, 23, 10, 0, 1, 0, time.UTC),
			},
		},
		"partial body in the string body field, pipe peer, no time": {
			fixture: "partial_body.json",
			want: &authz.Request{
				Method:   "PUT",
				Host:     "files.example.com",
				Path:     "/upload",
				Scheme:   "http",
				Protocol: "HTTP/1.1",
				Headers: map[string]string{
					":authority": "files.example.com", ":method": "PUT", ":path": "/upload", ":scheme": "http",
					"content-length": "1048576", "x-envoy-auth-partial-body": "true", "x-app-key": "k1",
				},
				Body:          []byte("abcdefgh"),
				BodyTruncated: true,
				SourceAddr:    "/run/envoy.sock",
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ToRequest(loadFixture(t, tc.fixture))
			if err != nil {
				t.Fatalf("ToRequest: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ToRequest mismatch\n got: %+v\nwant: %+v", got, tc.want)
			}
		})
	}
}

func TestToRequestMalformed(t *testing.T) {
	for _, fixture := range []string{
		"malformed_empty.json",
		"malformed_no_http.json",
		"malformed_empty_path.json",
		"malformed_empty_method.json",
	} {
		t.Run(fixture, func(t *testing.T) {
			got, err := ToRequest(loadFixture(t, fixture))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ToRequest = %+v, %v; want an error wrapping ErrMalformed", got, err)
			}
		})
	}
	if _, err := ToRequest(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("ToRequest(nil) error = %v; want ErrMalformed", err)
	}
}

// Pseudo-headers stand in for missing http fields (some clients fill only
// the headers), and mixed-case keys from non-Envoy clients are lowercased.
func TestToRequestFallbacks(t *testing.T) {
	cr := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Headers: map[string]string{
			":method": "DELETE", ":path": "/a?b=c", ":authority": "h.example", ":scheme": "https",
			"X-Thing": "1", "x-thing": "2",
		}},
	}}}
	got, err := ToRequest(cr)
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != "DELETE" || got.Path != "/a" || got.RawQuery != "b=c" || got.Host != "h.example" || got.Scheme != "https" {
		t.Errorf("fallback fields = %q %q %q %q %q", got.Method, got.Path, got.RawQuery, got.Host, got.Scheme)
	}
	if got.Headers["x-thing"] != "1,2" {
		t.Errorf("x-thing = %q; want %q (sorted keys X-Thing, x-thing joined with ',')", got.Headers["x-thing"], "1,2")
	}
	if _, ok := got.Headers["X-Thing"]; ok {
		t.Error("mixed-case key kept; want lowercase only")
	}
}
