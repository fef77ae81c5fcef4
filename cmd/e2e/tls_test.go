package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/appauthz/appauthz/internal/testpki"
	"github.com/appauthz/appauthz/store/redistest"
)

// tlsCreds are gRPC client credentials trusting roots, presenting certs.
func tlsCreds(roots *x509.CertPool, certs ...tls.Certificate) credentials.TransportCredentials {
	return credentials.NewTLS(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: certs, MinVersion: tls.VersionTLS12})
}

// healthWith asks d's health over a new connection made with creds: a
// new connection means a new handshake.
func healthWith(t *testing.T, d *daemon, creds credentials.TransportCredentials) error {
	t.Helper()
	conn, err := grpc.NewClient(d.grpcAddr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // a hang guard
	defer cancel()
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

// servedCert is the certificate a new TLS handshake with d presents.
func servedCert(t *testing.T, d *daemon, roots *x509.CertPool, certs ...tls.Certificate) *x509.Certificate {
	t.Helper()
	c, err := tls.Dial("tcp", d.grpcAddr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: certs, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatalf("TLS handshake with authzd: %v", err)
	}
	defer c.Close()
	if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Errorf("ALPN negotiated %q, want h2 (gRPC clients refuse a TLS server without it)", p)
	}
	return c.ConnectionState().PeerCertificates[0]
}

// The gRPC listener with --tls-cert/--tls-key serves Checks over TLS and
// refuses plaintext; with --client-ca it requires a client certificate of
// that CA; a replaced certificate is served by new handshakes at once.
func TestGRPCTLSEndToEnd(t *testing.T) {
	redis := redistest.Start(t)
	url := redis.URL()
	key := ctl(t, url, "app", "create", "--name", "Shop", "--id", "shop")["app_key"].(string)
	ctl(t, url, "api", "create", "--id", "orders", "--methods", "key", "--access", "authorized")
	ctl(t, url, "grant", "add", "--api", "orders", "--app", "shop")
	req := withAPI(get("http://x/orders", "X-App-Key", key), "orders")

	dir := t.TempDir()
	ca, otherCA := testpki.NewCA(t, "authzd CA"), testpki.NewCA(t, "another CA")
	certFile, keyFile := ca.Server(t, "127.0.0.1", "localhost").Write(t, dir, "server")
	clientCA := ca.Write(t, dir, "clients")
	envoyCert, strangerCert := ca.Client(t, "envoy").TLS(t), otherCA.Client(t, "envoy").TLS(t)

	t.Run("tls", func(t *testing.T) {
		d := launchAuthzd(t, tlsCreds(ca.Pool()), url, "--tls-cert", certFile, "--tls-key", keyFile, "--drain-delay", "0")
		d.waitHealth(t, healthpb.HealthCheckResponse_SERVING, 15*time.Second)
		d.check(t, req).wantAllow(t, "shop")
		err := healthWith(t, d, insecure.NewCredentials())
		if status.Code(err) != codes.Unavailable {
			t.Errorf("plaintext client: %v, want Unavailable (refused)", err)
		}
		if err := healthWith(t, d, tlsCreds(otherCA.Pool())); status.Code(err) != codes.Unavailable {
			t.Errorf("client trusting another CA: %v, want Unavailable (server not trusted)", err)
		}
	})

	t.Run("mtls and reload", func(t *testing.T) {
		d := launchAuthzd(t, tlsCreds(ca.Pool(), envoyCert), url,
			"--tls-cert", certFile, "--tls-key", keyFile, "--client-ca", clientCA, "--drain-delay", "0")
		d.waitHealth(t, healthpb.HealthCheckResponse_SERVING, 15*time.Second)
		d.check(t, req).wantAllow(t, "shop")
		for name, creds := range map[string]credentials.TransportCredentials{
			"no client certificate":            tlsCreds(ca.Pool()),
			"client certificate of another CA": tlsCreds(ca.Pool(), strangerCert),
			"plaintext":                        insecure.NewCredentials(),
		} {
			if err := healthWith(t, d, creds); status.Code(err) != codes.Unavailable {
				t.Errorf("%s: %v, want Unavailable (refused)", name, err)
			}
		}

		// Rotate the server certificate to one of a new CA, in place.
		newCA := testpki.NewCA(t, "rotated CA")
		rotated := newCA.Server(t, "127.0.0.1", "localhost")
		rotated.Write(t, dir, "server")
		both := ca.Pool()
		both.AddCert(newCA.Cert)
		if got := servedCert(t, d, both, envoyCert); !got.Equal(rotated.Cert) {
			t.Fatalf("after rotation authzd presents serial %x of %s, want the new %x of %s",
				got.SerialNumber, got.Issuer.CommonName, rotated.Cert.SerialNumber, newCA.Cert.Subject.CommonName)
		}
		if err := healthWith(t, d, tlsCreds(newCA.Pool(), envoyCert)); err != nil {
			t.Errorf("new connection trusting only the new CA: %v", err)
		}
		d.check(t, req).wantAllow(t, "shop") // the connection made before goes on
		if !strings.Contains(d.logs.String(), "TLS certificate reloaded") {
			t.Errorf("reload not logged")
		}
	})

	t.Run("bad flags", func(t *testing.T) {
		cmd := exec.Command(bins.authzd, "--redis-url", url, "--tls-cert", certFile)
		out, err := cmd.CombinedOutput()
		if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "--tls-cert and --tls-key go together") {
			t.Errorf("--tls-cert alone: %v, output %s; want exit 2 saying both are needed", err, out)
		}
	})
}

// redisACL is the ACL docs/tls.md recommends for the authzd user.
const redisACL = "~appauthz:* &appauthz:* +@all -@dangerous"

// authzctl and authzd work against Redis over TLS as an ACL user; a wrong
// password or an untrusted Redis certificate leaves authzd NOT_SERVING
// and every Check a 503 StoreUnavailable.
func TestRedisTLSEndToEnd(t *testing.T) {
	srv := redistest.StartTLS(t, redistest.TLSOptions{User: "authzd", Password: "e2e-s3cret", ACL: redisACL})
	url := srv.URL()
	// authzctl reads the CA from the same variable authzd's flag maps to.
	env := []string{"AUTHZ_REDIS_CA_FILE=" + srv.CAFile}
	key := ctlEnv(t, env, url, "app", "create", "--name", "Shop", "--id", "shop")["app_key"].(string)
	ctlEnv(t, env, url, "api", "create", "--id", "orders", "--methods", "key", "--access", "authorized")
	ctlEnv(t, env, url, "grant", "add", "--api", "orders", "--app", "shop")
	req := withAPI(get("http://x/orders", "X-App-Key", key), "orders")

	d := startAuthzd(t, url, "--redis-ca-file", srv.CAFile, "--drain-delay", "0")
	d.check(t, req).wantAllow(t, "shop")
	ctlEnv(t, env, url, "grant", "revoke", "--api", "orders", "--app", "shop")
	waitDenied(t, d, req, 403, "NotAuthorized") // invalidation over TLS pub/sub

	for name, tc := range map[string]struct {
		url  string
		args []string
		want string
	}{
		"wrong password": {srv.URLAs("authzd", "wrong-pw"), []string{"--redis-ca-file", srv.CAFile}, "WRONGPASS"},
		"untrusted CA":   {url, nil, "certificate signed by unknown authority"},
	} {
		t.Run(name, func(t *testing.T) {
			d := launchAuthzd(t, insecure.NewCredentials(), tc.url, append(tc.args, "--drain-delay", "0")...)
			d.waitHealth(t, healthpb.HealthCheckResponse_NOT_SERVING, 15*time.Second)
			d.check(t, req).wantDeny(t, 503, "StoreUnavailable")
			logs := d.logs.String()
			if !strings.Contains(logs, tc.want) {
				t.Errorf("logs do not say %q:\n%s", tc.want, logs)
			}
			if strings.Contains(logs, "wrong-pw") || strings.Contains(logs, "e2e-s3cret") {
				t.Errorf("logs show the Redis password:\n%s", logs)
			}
		})
	}
}

// ctlEnv is ctl with extra environment variables.
func ctlEnv(t *testing.T, env []string, redisURL string, args ...string) map[string]any {
	t.Helper()
	cmd := exec.Command(bins.authzctl, append([]string{"--redis-url", redisURL, "-o", "json"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("authzctl %s: %v: %s", strings.Join(args, " "), err, e.String())
	}
	var obj map[string]any
	if err := json.Unmarshal(o.Bytes(), &obj); err != nil {
		t.Fatalf("authzctl %s: output is not one JSON object: %q", strings.Join(args, " "), o.String())
	}
	return obj
}
