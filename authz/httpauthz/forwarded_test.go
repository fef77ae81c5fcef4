package httpauthz

import (
	"testing"
)

func TestParseForwarded(t *testing.T) {
	h := map[string]string{
		"X-Forwarded-Method": "DELETE", "X-Original-Method": "GET",
		"X-Forwarded-Uri": "/a?b=c", "X-Original-Uri": "/other",
		"X-Forwarded-Host": "api.example.com, proxy.internal", "X-Forwarded-Proto": "HTTPS",
	}
	o, err := ParseForwarded(func(k string) string { return h[k] }, "fallback")
	if err != nil {
		t.Fatal(err)
	}
	// Traefik's and Caddy's names win over nginx's; the first host of a
	// chain is the client's.
	if o != (Original{Method: "DELETE", URI: "/a?b=c", Host: "api.example.com", Scheme: "https"}) {
		t.Errorf("got %+v", o)
	}
	delete(h, "X-Forwarded-Host")
	if o, _ := ParseForwarded(func(k string) string { return h[k] }, "fallback"); o.Host != "fallback" {
		t.Errorf("host %q, want the auth request's Host", o.Host)
	}
}

func TestUpstreamURI(t *testing.T) {
	cases := map[string]struct {
		uri   string
		names []string
		want  string
	}{
		"nothing to remove":          {"/a?appKey=k", nil, "/a?appKey=k"},
		"no query":                   {"/a", []string{"appKey"}, "/a"},
		"only credentials":           {"/a?appKey=k&sign=s", []string{"appKey", "sign"}, "/a"},
		"kept byte for byte":         {"/p%2F?x=a+b%20c&appKey=k&y=%zz&&z", []string{"appKey"}, "/p%2F?x=a+b%20c&y=%zz&&z"},
		"raw spelling only":          {"/a?app%4Bey=k&appKey=j&appkey=l", []string{"app%4Bey"}, "/a?appKey=j&appkey=l"},
		"repeated pair":              {"/a?AppCode=1&AppCode=2&q", []string{"AppCode"}, "/a?q"},
		"name without value":         {"/a?sign&q=1", []string{"sign"}, "/a?q=1"},
		"a value equal to a name":    {"/a?q=appKey", []string{"appKey"}, "/a?q=appKey"},
		"empty query kept as sent":   {"/a?", []string{"appKey"}, "/a?"},
		"name present but not asked": {"/a?appKey=k", []string{"sign"}, "/a?appKey=k"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := UpstreamURI(tc.uri, tc.names); got != tc.want {
				t.Errorf("UpstreamURI(%q, %q) = %q, want %q", tc.uri, tc.names, got, tc.want)
			}
		})
	}
}
