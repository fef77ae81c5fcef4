package extauthz

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	})
}

// TestFuzzCorpusPresent keeps the checked-in seed corpus from silently
// disappearing: `go test` replays it on every run.
func TestFuzzCorpusPresent(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "fuzz", "FuzzToRequest"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("seed corpus testdata/fuzz/FuzzToRequest is missing or empty: %v", err)
	}
}
