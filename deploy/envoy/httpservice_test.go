package envoyconfig_test

import (
	"regexp"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/httpauthz"
	envoyconfig "github.com/appauthz/appauthz/deploy/envoy"
)

// TestEnvoyHTTPServiceConfig: envoy-http.yaml passes the same strict
// offline validation as envoy.yaml, and its http_service speaks what
// authzd's HTTP authorization listener expects.
func TestEnvoyHTTPServiceConfig(t *testing.T) {
	bs, err := envoyconfig.Load(repoFile(t, "deploy/envoy/envoy-http.yaml"))
	if err != nil {
		t.Fatalf("deploy/envoy/envoy-http.yaml is invalid:\n%v", err)
	}
	hcms, err := envoyconfig.HCMs(bs)
	if err != nil || len(hcms) != 1 {
		t.Fatalf("want one http_connection_manager, got %d (%v)", len(hcms), err)
	}
	h := hcms[0]
	ea, err := envoyconfig.ExtAuthz(h)
	if err != nil || ea == nil {
		t.Fatalf("no ext_authz filter (%v)", err)
	}
	hs := ea.GetHttpService()
	if hs == nil || ea.GetGrpcService() != nil {
		t.Fatalf("ext_authz must use http_service only, got %v", ea)
	}
	if hs.GetPathPrefix() != httpauthz.EnvoyPrefix {
		t.Errorf("path_prefix %q, want %q (authzd serves Envoy there)", hs.GetPathPrefix(), httpauthz.EnvoyPrefix)
	}
	if to := hs.GetServerUri().GetTimeout(); to == nil || to.AsDuration().Seconds() != 1 {
		t.Errorf("server_uri.timeout = %v, want 1s as in envoy.yaml", to)
	}
	if !strings.Contains(string(repoFile(t, "deploy/envoy/envoy-http.yaml")), "failure_mode_allow: false") || ea.GetFailureModeAllow() {
		t.Errorf("envoy-http.yaml must say failure_mode_allow: false")
	}
	if got := ea.GetStatusOnError().GetCode(); got != typev3.StatusCode_ServiceUnavailable {
		t.Errorf("status_on_error = %v, want ServiceUnavailable", got)
	}
	b := ea.GetWithRequestBody()
	if b.GetMaxRequestBytes() != httpauthz.DefaultMaxBody || b.GetAllowPartialMessage() {
		t.Errorf("with_request_body = %v, want max_request_bytes %d (authzd's limit), no partial bodies", b, httpauthz.DefaultMaxBody)
	}
	// Every header a credential or signature may use reaches authzd.
	for _, name := range []string{"x-app-key", "date", "digest", "x-ca-signature", "x-custom-signed", "x_appauthz_app_id", "x-appauthz-app-id"} {
		if !matchesAny(ea.GetAllowedHeaders().GetPatterns(), name) {
			t.Errorf("allowed_headers does not send %s to authzd", name)
		}
	}
	resp := hs.GetAuthorizationResponse()
	for _, name := range []string{authz.HeaderAppID, authz.HeaderAppName, authz.HeaderKey, authz.HeaderMethod, authz.HeaderAPI, authz.HeaderScopes} {
		if !matchesAny(resp.GetAllowedUpstreamHeaders().GetPatterns(), name) {
			t.Errorf("allowed_upstream_headers does not copy %s upstream", name)
		}
	}
	for _, name := range []string{"x-app-key", "authorization", "x-appauthz-upstream-uri", "x-envoy-auth-headers-to-remove"} {
		if matchesAny(resp.GetAllowedUpstreamHeaders().GetPatterns(), name) {
			t.Errorf("allowed_upstream_headers copies %s upstream", name)
		}
	}
	for _, name := range []string{authz.HeaderError, "www-authenticate", "retry-after", "content-type"} {
		if !matchesAny(resp.GetAllowedClientHeaders().GetPatterns(), name) {
			t.Errorf("allowed_client_headers does not give the client %s", name)
		}
	}
	if h.GetCommonHttpProtocolOptions().GetHeadersWithUnderscoresAction() != corev3.HttpProtocolOptions_REJECT_REQUEST {
		t.Errorf("headers_with_underscores_action must be REJECT_REQUEST, as in envoy.yaml")
	}
}

// TestEnvoyHTTPServiceBroken: the validation catches what matters here.
func TestEnvoyHTTPServiceBroken(t *testing.T) {
	good := string(repoFile(t, "deploy/envoy/envoy-http.yaml"))
	for name, edit := range map[string][2]string{
		"undefined cluster": {"cluster: authzd_authz_http\n", "cluster: nowhere\n"},
		"typo":              {"path_prefix:", "path_prefx:"},
		"no timeout":        {"                  timeout: 1s\n", ""},
	} {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(good, edit[0]) {
				t.Fatalf("envoy-http.yaml no longer contains %q", edit[0])
			}
			if _, err := envoyconfig.Load([]byte(strings.Replace(good, edit[0], edit[1], 1))); err == nil {
				t.Fatal("the broken config passed")
			}
		})
	}
}

func matchesAny(ps []*matcherv3.StringMatcher, s string) bool {
	for _, p := range ps {
		switch {
		case p.GetExact() != "" && p.GetExact() == s:
			return true
		case p.GetPrefix() != "" && strings.HasPrefix(s, p.GetPrefix()):
			return true
		case p.GetSafeRegex() != nil && regexp.MustCompile("^(?:"+p.GetSafeRegex().GetRegex()+")$").MatchString(s):
			return true
		}
	}
	return false
}
