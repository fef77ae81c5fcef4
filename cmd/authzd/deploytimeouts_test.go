package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	envoyconfig "github.com/appauthz/appauthz/deploy/envoy"
	istioconfig "github.com/appauthz/appauthz/deploy/istio"
)

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

// propagation is how long a proxy may take to act on what its health
// checker saw: Envoy acts at once; Kubernetes' endpoint change reaches the
// Istio gateway through istiod's EDS push.
const propagation = time.Second

// shipped is what the repository deploys: each authzd configuration with
// the proxy that calls it.
type shipped struct {
	name         string
	cfg          Config
	proxyTimeout time.Duration // the ext_authz timeout of its proxy
	proxy        string
	// healthDetect is the longest the proxy's health checking takes to see
	// NOT_SERVING (interval plus timeout); health names it.
	healthDetect time.Duration
	health       string
	// stopGrace is how long the platform waits after SIGTERM before
	// SIGKILL; stop names it.
	stopGrace time.Duration
	stop      string
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
	// Envoy's active health checks of the ext_authz cluster. A gRPC
	// NOT_SERVING answer is an "active" failure, which marks the host
	// unhealthy at once; unhealthy_threshold counts only network failures
	// and timeouts. So the worst case is one interval (plus its jitter)
	// and one timeout.
	var envoyDetect time.Duration
	for _, c := range bs.GetStaticResources().GetClusters() {
		if c.GetName() != ea.GetGrpcService().GetEnvoyGrpc().GetClusterName() {
			continue
		}
		for _, hc := range c.GetHealthChecks() {
			if hc.GetGrpcHealthCheck() == nil {
				t.Errorf("envoy.yaml: cluster %s health check %v cannot see authzd's NOT_SERVING: use grpc_health_check", c.GetName(), hc)
				continue
			}
			d := hc.GetInterval().AsDuration() + hc.GetIntervalJitter().AsDuration() + hc.GetTimeout().AsDuration()
			envoyDetect = max(envoyDetect, d)
		}
	}
	if envoyDetect == 0 {
		t.Fatalf("envoy.yaml: the ext_authz cluster has no grpc_health_check: Envoy would keep sending Checks to a draining authzd")
	}
	var compose struct {
		Services map[string]struct {
			Environment     map[string]string `json:"environment"`
			Command         []string          `json:"command"`
			StopGracePeriod string            `json:"stop_grace_period"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal(repoFile(t, "docker-compose.yml"), &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	composeAuthzd := compose.Services["authzd"]
	composeGrace := 10 * time.Second // docker's default
	if g := composeAuthzd.StopGracePeriod; g != "" {
		if composeGrace, err = time.ParseDuration(g); err != nil {
			t.Fatalf("docker-compose.yml authzd stop_grace_period %q: %v", g, err)
		}
	}

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
	pod := deps[0].Spec.Template.Spec
	// Kubernetes' defaults where the manifest leaves a field out.
	probeDetect := 10*time.Second*3 + time.Second
	if p := ctr.ReadinessProbe; p != nil {
		period, failures, timeout := cmp.Or(p.PeriodSeconds, 10), cmp.Or(p.FailureThreshold, 3), cmp.Or(p.TimeoutSeconds, 1)
		probeDetect = time.Duration(period*failures+timeout) * time.Second
	} else {
		t.Errorf("authzd.yaml: no readinessProbe: a NOT_SERVING authzd would stay in the Service")
	}
	podGrace := 30 * time.Second
	if g := pod.TerminationGracePeriodSeconds; g != nil {
		podGrace = time.Duration(*g) * time.Second
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
	behindEnvoy := func(name string, cfg Config) shipped {
		return shipped{name, cfg, envoyTimeout, "envoy.yaml grpc_service.timeout",
			envoyDetect, "envoy.yaml health check interval + timeout", composeGrace, "docker-compose.yml stop_grace_period"}
	}
	behindIstio := func(name string, cfg Config) shipped {
		return shipped{name, cfg, meshTimeout, "mesh-config.yaml envoyExtAuthzGrpc.timeout",
			probeDetect, "authzd.yaml readinessProbe period x failureThreshold + timeout", podGrace, "authzd.yaml terminationGracePeriodSeconds"}
	}
	return []shipped{
		behindEnvoy("docker-compose.yml", deployedConfig(t, "docker-compose.yml", composeAuthzd.Environment, composeAuthzd.Command)),
		behindIstio("deploy/istio/authzd.yaml", deployedConfig(t, "authzd.yaml", podEnv, ctr.Args)),
		behindEnvoy("authzd defaults", defaults),
		behindIstio("authzd defaults", defaults),
	}
}

// authzd answers inside its proxy's ext_authz timeout even when Redis hangs:
// a Check's round trips share one budget, --redis-timeout, so the worst
// Check takes the budget plus checkMargin, and the client gets
// StoreUnavailable with x-appauthz-error, not a bare 503 from the proxy.
// (authzd also shortens the budget to the deadline the proxy sends, but a
// proxy that sends none must not be given a bare 503 either.)
func TestRedisTimeoutFitsProxyTimeout(t *testing.T) {
	for _, s := range shippedDeployments(t) {
		if worst := s.cfg.RedisTimeout + checkMargin; worst > s.proxyTimeout {
			t.Errorf("%s: --redis-timeout %v (a Check's budget) + %v margin = %v, over the %s %v: the proxy would give up first",
				s.name, s.cfg.RedisTimeout, checkMargin, worst, s.proxy, s.proxyTimeout)
		}
	}
}

// On SIGTERM authzd reports NOT_SERVING for --drain-delay before closing
// its listeners: long enough for every shipped proxy's health checking to
// see it and act, so no proxy sends a Check to a closed listener. And the
// platform waits long enough after SIGTERM for the drain and the Checks
// still in flight, which the proxy abandons after its timeout.
func TestDrainDelayOutlastsHealthChecks(t *testing.T) {
	for _, s := range shippedDeployments(t) {
		if need := s.healthDetect + propagation; s.cfg.DrainDelay < need {
			t.Errorf("%s: --drain-delay %v, but the %s is %v (+%v to act on it): the listener would close before the proxy stops sending",
				s.name, s.cfg.DrainDelay, s.health, s.healthDetect, propagation)
		}
		if need := s.cfg.DrainDelay + s.proxyTimeout + propagation; s.stopGrace < need {
			t.Errorf("%s: %s %v, but the drain (%v) and the in-flight Checks (%s %v) need %v: SIGKILL would cut them short",
				s.name, s.stop, s.stopGrace, s.cfg.DrainDelay, s.proxy, s.proxyTimeout, need)
		}
	}
	// Kubernetes: the pod's grace also covers authzd's own bound on the
	// in-flight Checks, --shutdown-timeout.
	for _, s := range shippedDeployments(t) {
		if strings.Contains(s.stop, "terminationGracePeriodSeconds") && s.stopGrace < s.cfg.DrainDelay+s.cfg.ShutdownTimeout {
			t.Errorf("%s: %s %v < --drain-delay %v + --shutdown-timeout %v", s.name, s.stop, s.stopGrace, s.cfg.DrainDelay, s.cfg.ShutdownTimeout)
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
		"budget of one Check for all its Redis round trips",
		fmt.Sprintf("(default %v)", defaultRedisTimeout),
		fmt.Sprintf("(default %v)", defaultDrainDelay),
		"health-check interval plus timeout",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("authzd -h lacks %q:\n%s", want, help)
		}
	}
}
