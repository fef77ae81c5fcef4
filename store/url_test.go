package store

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/store/redistest"
)

func TestOpenURL(t *testing.T) {
	srv := redistest.Start(t)
	rdb, err := OpenURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	if err := New(rdb).Ping(context.Background()); err != nil {
		t.Fatalf("ping through OpenURL(%s): %v", srv.URL(), err)
	}

	tls, err := OpenURL("rediss://user:pw@cache.example:6380/2")
	if err != nil {
		t.Fatal(err)
	}
	opts := tls.(*redis.Client).Options()
	if opts.TLSConfig == nil || opts.Addr != "cache.example:6380" || opts.DB != 2 || opts.Username != "user" || opts.Password != "pw" {
		t.Errorf("rediss options = addr %s db %d tls %v", opts.Addr, opts.DB, opts.TLSConfig != nil)
	}
	tls.Close()
}

func TestOpenURLErrors(t *testing.T) {
	tests := map[string]struct{ url, message string }{
		"empty":             {"", "empty"},
		"http":              {"http://localhost:6379", `scheme "http" is not supported`},
		"no scheme":         {"localhost:6379", "not supported"},
		"sentinel":          {"sentinel://h:26379", "not supported"},
		"bad db":            {"redis://h:6379/x", "database"},
		"bad port":          {"redis://:s3cretpw@h:port/0", "invalid"},
		"bad option":        {"redis://:s3cretpw@h:6379/0?bogus=1", "bogus"},
		"control chr":       {"redis://:s3cretpw@h\n:6379", "invalid"},
		"skip_verify":       {"rediss://:s3cretpw@h:6380/0?skip_verify=true", `"skip_verify" is not supported`},
		"skip_verify false": {"rediss://:s3cretpw@h:6380/0?skip_verify=false", `"skip_verify" is not supported`},
		"skip_verify plain": {"redis://:s3cretpw@h:6379/0?dial_timeout=1s&skip_verify=1", `"skip_verify" is not supported`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := OpenURL(tc.url)
			if err == nil {
				c.Close()
				t.Fatalf("OpenURL(%q) succeeded", tc.url)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not mention %q", err, tc.message)
			}
			if !strings.Contains(err.Error(), "redis://") {
				t.Errorf("error %q does not show the expected form", err)
			}
			if strings.Contains(err.Error(), "s3cretpw") {
				t.Errorf("error %q leaks the password", err)
			}
		})
	}
}
