package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/appauthz/appauthz/authz"
	envoyconfig "github.com/appauthz/appauthz/deploy/envoy"
	istioconfig "github.com/appauthz/appauthz/deploy/istio"
)

// checkStoreCalls is how many Redis round trips a Check may wait for one
// after the other: the engine calls each method of authz.Store (Lookup,
// Principal, Admit) at most once, and each call is bounded by
// --redis-timeout on its own.
var checkStoreCalls = reflect.TypeFor[authz.Store]().NumMethod()

// checkMargin is what a Check needs besides Redis: decoding a body of up to
// max_request_bytes, signature checks, gRPC framing and scheduling on a
// busy node. It keeps the worst Check clear of the proxy's timeout.
const checkMargin = 200 * time.Millisecond

// timingFlags are the flags these tests read from a deployment; the others
// are left out so that no key file or Redis is needed to load the config.
var timingFlags = []string{"redis-timeout", "drain-delay", "shutdown-timeout"}

// deployedConfig is authzd's configuration as a deployment runs it: the
// real defaults of loadConfig, overridden by the deployment's AUTHZ_*
// variables and arguments for the timing flags.
func deployedConfig(t *testing.T, where string, env map[string]string, args []string) Config {
	t.Helper()
	var keep []string
	for i := 0; i < len(args); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !slices.Contains(timingFlags, name) {
			continue
		}
		keep = append(keep, args[i])
		if !hasValue && i+1 < len(args) {
			i++
			keep = append(keep, args[i])
		}
	}
	getenv := func(k string) string {
		for _, f := range timingFlags {
			if k == envName(f) {
				return env[k]
			}
		}
		return ""
	}
	c, err := loadConfig(keep, getenv, io.Discard)
	if err != nil {
		t.Fatalf("%s: authzd would not start: %v", where, err)
	}
	return c
}

func repoFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// shipped is what the repository deploys: each authzd configuration with
// the proxy that calls it.
type shipped struct {
	name         string
	cfg          Config
	proxyTimeout time.Duration // the ext_authz timeout of its proxy
	proxy        string
}

func shippedDeployments(t *testing.T) []shipped {
	t.Helper()
	// docker-compose.yml: authzd behind deploy/envoy/envoy.yaml.
	bs, err := envoyconfig.Load(repoFile(t, "deploy/envoy/envoy.yaml"))
	if err != nil {
		t.Fatalf("deploy/envoy/envoy.yaml: %v", err)
	}
	hcms, err := envoyconfig.HCMs(bs)
	if err != nil || len(hcms) != 1 {
		t.Fatalf("envoy.yaml: want one http_connection_manager (err %v)", err)
	}
	ea, err := envoyconfig.ExtAuthz(hcms[0])
	if err != nil || ea == nil {
		t.Fatalf("envoy.yaml: no ext_authz filter (err %v)", err)
	}
	envoyTimeout := 200 * time.Millisecond // Envoy's default
	if to := ea.GetGrpcService().GetTimeout(); to != nil {
		envoyTimeout = to.AsDuration()
	}
	var compose struct {
		Services map[string]struct {
			Environment map[string]string `json:"environment"`
			Command     []string          `json:"command"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal(repoFile(t, "docker-compose.yml"), &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	composeAuthzd := compose.Services["authzd"]

	// deploy/istio: the authzd Deployment behind the mesh's provider.
	docs, err := istioconfig.Load(filepath.Join("..", "..", "deploy", "istio"))
	if err != nil {
		t.Fatalf("deploy/istio: %v", err)
	}
	deps := istioconfig.Of[*appsv1.Deployment](docs)
	ops := istioconfig.Of[*istioconfig.IstioOperator](docs)
	if len(deps) != 1 || len(ops) != 1 {
		t.Fatalf("deploy/istio: want one Deployment and one IstioOperator")
	}
	ctr := deps[0].Spec.Template.Spec.Containers[0]
	podEnv := map[string]string{}
	for _, e := range ctr.Env {
		podEnv[e.Name] = e.Value
	}
	var meshTimeout time.Duration
	for _, p := range ops[0].Spec.MeshConfig.GetExtensionProviders() {
		if g := p.GetEnvoyExtAuthzGrpc(); g != nil {
			meshTimeout = 600 * time.Second // Istio's default
			if g.GetTimeout() != nil {
				meshTimeout = g.GetTimeout().AsDuration()
			}
		}
	}
	if meshTimeout == 0 {
		t.Fatalf("mesh-config.yaml: no envoyExtAuthzGrpc provider")
	}

	defaults := deployedConfig(t, "defaults", nil, nil)
	return []shipped{
		{"docker-compose.yml", deployedConfig(t, "docker-compose.yml", composeAuthzd.Environment, composeAuthzd.Command), envoyTimeout, "envoy.yaml grpc_service.timeout"},
		{"deploy/istio/authzd.yaml", deployedConfig(t, "authzd.yaml", podEnv, ctr.Args), meshTimeout, "mesh-config.yaml envoyExtAuthzGrpc.timeout"},
		{"authzd defaults", defaults, envoyTimeout, "envoy.yaml grpc_service.timeout"},
		{"authzd defaults", defaults, meshTimeout, "mesh-config.yaml envoyExtAuthzGrpc.timeout"},
	}
}

// authzd answers inside its proxy's ext_authz timeout even when every Redis
// round trip of a Check runs into --redis-timeout: then the client gets
// StoreUnavailable with x-appauthz-error, not a bare 503 from the proxy.
func TestRedisTimeoutFitsProxyTimeout(t *testing.T) {
	for _, s := range shippedDeployments(t) {
		worst := time.Duration(checkStoreCalls)*s.cfg.RedisTimeout + checkMargin
		if worst > s.proxyTimeout {
			t.Errorf("%s: %d x --redis-timeout %v + %v margin = %v, over the %s %v: the proxy would give up first",
				s.name, checkStoreCalls, s.cfg.RedisTimeout, checkMargin, worst, s.proxy, s.proxyTimeout)
		}
	}
}

// The help text states the rule the test above enforces, with the numbers
// of the shipped configs.
func TestRedisTimeoutHelp(t *testing.T) {
	var out strings.Builder
	if _, err := loadConfig([]string{"-h"}, func(string) string { return "" }, &out); err == nil {
		t.Fatal("-h should return flag.ErrHelp")
	}
	help := out.String()
	for _, want := range []string{
		fmt.Sprintf("a Check makes up to %d in sequence", checkStoreCalls),
		fmt.Sprintf("(default %v)", defaultRedisTimeout),
	} {
		if !strings.Contains(help, want) {
			t.Errorf("--redis-timeout help lacks %q:\n%s", want, help)
		}
	}
}
