package authz

import (
	"slices"
	"strings"
	"testing"
)

func TestParseQuery(t *testing.T) {
	type p = QueryParam
	tests := []struct {
		raw     string
		want    []QueryParam
		wantErr string // substring; "" = no error
	}{
		{"a=1&b=2", []p{{"a", "1", "a", false}, {"b", "2", "b", false}}, ""},
		{"&&flag&a=&", []p{{"flag", "", "flag", false}, {"a", "", "a", false}}, ""},
		{"a+b=c+d&e%20f=%C3%A9", []p{{"a b", "c d", "a+b", false}, {"e f", "é", "e%20f", false}}, ""},
		// The raw name is what Envoy removes by.
		{"app%4Bey=K&%41ppCode=C", []p{{"appKey", "K", "app%4Bey", false}, {"AppCode", "C", "%41ppCode", false}}, ""},
		{"x=a=b", []p{{"x", "a=b", "x", false}}, ""},
		// Lenient: a bad escape in an unrelated parameter keeps its bytes.
		{"q=50%&r=%zz&s=%4", []p{{"q", "50%", "q", true}, {"r", "%zz", "r", true}, {"s", "%4", "s", true}}, ""},
		{"%zzappKey=1", []p{{"%zzappKey", "1", "%zzappKey", true}}, ""},
		{"q=%25zz", []p{{"q", "%zz", "q", false}}, ""},
		// A malformed credential parameter is refused, whatever spelling.
		{"appKey=abc%", nil, `"appKey" has a malformed`},
		{"app%4Bey=%zz", nil, `"app%4Bey" has a malformed`},
		{"APPCODE=%4", nil, "malformed"},
		{"sign=%G0&appKey=k", nil, "malformed"},
		{"apiTimestamp=1%", nil, "malformed"},
		{"signMethod=%", nil, "malformed"},
		{strings.Repeat("a=1&", MaxQueryParams), nil, ""},
		{strings.Repeat("a=1&", MaxQueryParams+1), nil, "too many query parameters: 1001, at most 1000"},
		{strings.Repeat("&", 5000) + "a", []p{{"a", "", "a", false}}, ""},
	}
	for _, tc := range tests {
		got, err := ParseQuery(tc.raw)
		name := tc.raw
		if len(name) > 40 {
			name = name[:40] + "…"
		}
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err = %v, want %q", name, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%s: unexpected error %v", name, err)
		case tc.want != nil && !slices.Equal(got, tc.want):
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, tc.want)
		}
	}
}

// TestParseQueryCapIsCheap: a query over the cap is refused after one
// scan, before anything is decoded or allocated per parameter (8 million
// parameters used to take 1 GB).
func TestParseQueryCapIsCheap(t *testing.T) {
	huge := strings.Repeat("a=1&", 1_000_000)
	allocs := testing.AllocsPerRun(3, func() {
		if _, err := ParseQuery(huge); err == nil {
			t.Fatal("a million parameters accepted")
		}
	})
	// A parse of the million pairs would allocate at least once per pair;
	// the bound leaves room for the runtime's own allocations during the
	// run (seen under -race on a busy machine), which are not ParseQuery's.
	if allocs > 100 {
		t.Errorf("refusing an oversized query allocated %v times, want a small constant", allocs)
	}
}

func TestIsCredentialParam(t *testing.T) {
	for name, want := range map[string]bool{
		"appKey": true, "sign": true, "apiTimestamp": true, "signMethod": true,
		"AppCode": true, "appcode": true, "APPCODE": true, "aPpCoDe": true,
		"appkey": false, "Sign": false, "designer": false, "app Key": false, "": false,
	} {
		if got := IsCredentialParam(name); got != want {
			t.Errorf("IsCredentialParam(%q) = %v, want %v", name, got, want)
		}
	}
}
