package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/internal/testpki"
	"github.com/appauthz/appauthz/store/redistest"
)

// docsACL is the least-privilege ACL docs/tls.md recommends for authzd;
// using it here proves it is enough for the whole Check path.
const docsACL = "~appauthz:* &appauthz:* +@all -@dangerous"

// The Check path works over rediss:// as an ACL user: lookups, the
// cache's invalidation subscription, and the replay guard's script.
func TestRedissACLUser(t *testing.T) {
	srv := redistest.StartTLS(t, redistest.TLSOptions{User: "authzd", Password: "s3cret-pw", ACL: docsACL})
	rdb, err := OpenURL(srv.URL(), WithTLSFiles(srv.CAFile, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	s := New(rdb, WithTimeout(2*time.Second))
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping over rediss as an ACL user: %v", err)
	}
	provisionRaw(t, s)
	c := startCache(t, s, CacheConfig{TTL: time.Hour})
	byKey := &authz.Request{Method: "GET", Path: "/x", Headers: map[string]string{"x-app-key": "app1-key-0123456789"}, Context: map[string]string{"api": "orders"}}
	for name, e := range map[string]*authz.Engine{"direct": authz.NewEngine(s), "cached": authz.NewEngine(c)} {
		if d := e.Check(ctx, byKey); !d.Allow {
			t.Errorf("%s: denied %s: %s", name, d.Reason, d.Message)
		}
		if d := e.Check(ctx, hmacRequest(t, "/signed-"+name)); !d.Allow {
			t.Errorf("%s: signed request denied %s: %s", name, d.Reason, d.Message)
		}
	}
	// The ACL really applies: keys outside the prefix are refused.
	if err := rdb.Set(ctx, "other:key", "v", 0).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("SET outside appauthz:* = %v, want NOPERM: the ACL user is not in effect", err)
	}
}

// Redis requiring client certificates (tls-auth-clients yes) accepts the
// one given by WithTLSFiles and refuses a connection without one.
func TestRedissClientCertificate(t *testing.T) {
	srv := redistest.StartTLS(t, redistest.TLSOptions{AuthClients: "yes"})
	certFile, keyFile := srv.ClientCert(t, "authzd")
	ping := func(opts ...OpenOption) error {
		rdb, err := OpenURL(srv.URL(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer rdb.Close()
		return New(rdb).Ping(context.Background())
	}
	if err := ping(WithTLSFiles(srv.CAFile, certFile, keyFile)); err != nil {
		t.Fatalf("ping with a client certificate: %v", err)
	}
	quietRedisLog(t)
	if err := ping(WithTLSFiles(srv.CAFile, "", "")); err == nil {
		t.Fatal("ping without a client certificate succeeded; Redis requires one")
	}
}

// Each way a rediss:// connection can be refused fails every call with a
// store error that names the cause, which the core turns into
// StoreUnavailable.
func TestRedissRefused(t *testing.T) {
	srv := redistest.StartTLS(t, redistest.TLSOptions{User: "authzd", Password: "s3cret-pw"})
	otherCA := testpki.NewCA(t, "another CA").Write(t, t.TempDir(), "other")
	quietRedisLog(t)
	tests := map[string]struct {
		url  string
		opts []OpenOption
		want string
	}{
		"wrong password":        {srv.URLAs("authzd", "wrong-pw"), []OpenOption{WithTLSFiles(srv.CAFile, "", "")}, "WRONGPASS"},
		"unknown user":          {srv.URLAs("nobody", "s3cret-pw"), []OpenOption{WithTLSFiles(srv.CAFile, "", "")}, "WRONGPASS"},
		"no password":           {srv.URLAs("", ""), []OpenOption{WithTLSFiles(srv.CAFile, "", "")}, "NOAUTH"},
		"system roots only":     {srv.URL(), nil, "certificate signed by unknown authority"},
		"another CA":            {srv.URL(), []OpenOption{WithTLSFiles(otherCA, "", "")}, "certificate signed by unknown authority"},
		"plaintext to TLS port": {strings.Replace(srv.URL(), "rediss://", "redis://", 1), nil, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rdb, err := OpenURL(tc.url, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rdb.Close() })
			s := New(rdb, WithTimeout(2*time.Second))
			err = s.Ping(context.Background())
			if err == nil {
				t.Fatal("ping succeeded")
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret-pw") || strings.Contains(err.Error(), "wrong-pw") {
				t.Errorf("error %q shows a password", err)
			}
			req := &authz.Request{Method: "GET", Path: "/x", Headers: map[string]string{"x-app-key": "k"}, Context: map[string]string{"api": "orders"}}
			if d := authz.NewEngine(s).Check(context.Background(), req); d.Reason != authz.ReasonStoreUnavailable {
				t.Errorf("Check = %s, want StoreUnavailable", d.Reason)
			}
		})
	}
}

// Bad TLS files are reported by OpenURL, before any connection.
func TestWithTLSFilesErrors(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "ca")
	caFile := ca.Write(t, dir, "ca")
	certFile, keyFile := ca.Client(t, "c").Write(t, dir, "client")
	_, otherKey := ca.Client(t, "d").Write(t, dir, "other")
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		url, ca, cert, key, want string
	}{
		"plaintext url":       {"redis://h:6379/0", caFile, "", "", "use rediss://"},
		"plaintext sentinel":  {"redis-sentinel://h:26379/m", caFile, "", "", "use rediss://"},
		"missing CA":          {"rediss://h:6379/0", filepath.Join(dir, "nope.crt"), "", "", "no such file"},
		"CA not PEM":          {"rediss://h:6379/0", notPEM, "", "", "no PEM certificate"},
		"cert without key":    {"rediss://h:6379/0", "", certFile, "", "both"},
		"key of another cert": {"rediss://h:6379/0", "", certFile, otherKey, "does not match"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := OpenURL(tc.url, WithTLSFiles(tc.ca, tc.cert, tc.key))
			if err == nil {
				c.Close()
				t.Fatal("OpenURL succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
	for name, url := range map[string]string{"single": "rediss://h:6379/0", "cluster": "rediss-cluster://h:6379", "sentinel": "rediss-sentinel://h:26379/m"} {
		c, err := OpenURL(url, WithTLSFiles(caFile, certFile, keyFile))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c.Close()
	}
}
