package envoyconfig_test

import (
	"maps"
	"net"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The parts of docker-compose.yml the tests read. Environments must use the
// map form (KEY: value) so they can be read here.
type composeFile struct {
	Services map[string]composeService `json:"services"`
	Networks map[string]struct {
		IPAM struct {
			Config []struct {
				Subnet string `json:"subnet"`
			} `json:"config"`
		} `json:"ipam"`
	} `json:"networks"`
}

type composeService struct {
	Image       string            `json:"image"`
	Build       *composeBuild     `json:"build"`
	Command     []string          `json:"command"`
	Environment map[string]string `json:"environment"`
	Volumes     []string          `json:"volumes"`
	Ports       []string          `json:"ports"`
	DependsOn   map[string]struct {
		Condition string `json:"condition"`
	} `json:"depends_on"`
	Healthcheck *struct {
		Test []string `json:"test"`
	} `json:"healthcheck"`
	Networks map[string]struct {
		IPv4Address string `json:"ipv4_address"`
	} `json:"networks"`
}

type composeBuild struct {
	Context string `json:"context"`
	Target  string `json:"target"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	if err := yaml.Unmarshal(repoFile(t, "docker-compose.yml"), &c); err != nil {
		t.Fatalf("docker-compose.yml: %v (environment must be a map, ports and volumes short-form strings)", err)
	}
	return c
}

func service(t *testing.T, c composeFile, name string) composeService {
	t.Helper()
	s, ok := c.Services[name]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %q", name)
	}
	return s
}

// addrPort is the port of a Go listen address such as ":9001", or def when empty.
func addrPort(t *testing.T, addr string, def uint32) uint32 {
	t.Helper()
	if addr == "" {
		return def
	}
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	return uint32(n)
}

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{"redis", "authzd", "seed", "upstream", "envoy"} {
		service(t, c, name)
	}

	authzd := service(t, c, "authzd")
	if authzd.Build == nil || authzd.Build.Target != "authzd" {
		t.Errorf("authzd must build the Dockerfile's authzd target, got %+v", authzd.Build)
	}
	if d := authzd.DependsOn["redis"]; d.Condition != "service_healthy" {
		t.Errorf("authzd depends_on redis: condition %q, want service_healthy", d.Condition)
	}
	if service(t, c, "redis").Healthcheck == nil {
		t.Errorf("redis needs a healthcheck for service_healthy to mean anything")
	}

	// Redis URLs (authzd and seed) must name the redis service on Redis's port.
	for _, name := range []string{"authzd", "seed"} {
		raw := service(t, c, name).Environment["AUTHZ_REDIS_URL"]
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "redis" || u.Hostname() != "redis" || u.Port() != "6379" {
			t.Errorf("%s AUTHZ_REDIS_URL = %q, want redis://redis:6379/<db>", name, raw)
		}
	}

	// Published ports: Envoy's listener for everyone, admin and authzd on loopback only.
	for _, name := range []string{"envoy", "authzd"} {
		for _, p := range service(t, c, name).Ports {
			public := !strings.HasPrefix(p, "127.0.0.1:")
			if public && !(name == "envoy" && p == "8080:8080") {
				t.Errorf("%s publishes %q beyond loopback", name, p)
			}
		}
	}
}

// Every address in envoy.yaml is a compose service and a port that service
// really listens on, and Envoy reads the file compose mounts.
func TestComposeMatchesEnvoyYAML(t *testing.T) {
	c := loadCompose(t)
	l := loadEnvoyYAML(t)

	envoy := service(t, c, "envoy")
	if !strings.HasPrefix(envoy.Image, "envoyproxy/envoy:") {
		t.Errorf("envoy image = %q, want the official envoyproxy/envoy", envoy.Image)
	}
	confPath := "/etc/envoy/envoy.yaml" // the image's default
	for i, a := range envoy.Command {
		if a == "-c" && i+1 < len(envoy.Command) {
			confPath = envoy.Command[i+1]
		}
	}
	var mounted bool
	for _, v := range envoy.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && path.Clean(parts[0]) == "deploy/envoy/envoy.yaml" && parts[1] == confPath {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("envoy must mount ./deploy/envoy/envoy.yaml at %s (its -c), volumes: %v", confPath, envoy.Volumes)
	}
	listen := l.bs.GetStaticResources().GetListeners()[0].GetAddress().GetSocketAddress().GetPortValue()
	if !slices.ContainsFunc(envoy.Ports, func(p string) bool { return strings.HasSuffix(p, ":"+strconv.Itoa(int(listen))) }) {
		t.Errorf("compose publishes envoy ports %v, none to the listener port %d", envoy.Ports, listen)
	}
	for _, dep := range []string{"authzd", "upstream"} {
		if _, ok := envoy.DependsOn[dep]; !ok {
			t.Errorf("envoy should depend_on %s", dep)
		}
	}

	authzdEnv := service(t, c, "authzd").Environment
	upstream := service(t, c, "upstream")
	if !strings.HasPrefix(upstream.Image, "mendhak/http-https-echo:") {
		t.Fatalf("upstream image %q: this test knows mendhak/http-https-echo's port variable (HTTP_PORT); teach it the new image's", upstream.Image)
	}
	upstreamPort, err := strconv.ParseUint(upstream.Environment["HTTP_PORT"], 10, 16)
	if err != nil {
		t.Fatalf("upstream HTTP_PORT: %v", err)
	}
	want := map[string]struct {
		host string
		port uint32
	}{
		"authzd":      {"authzd", addrPort(t, authzdEnv["AUTHZ_GRPC_ADDR"], 9001)},
		"authzd_http": {"authzd", addrPort(t, authzdEnv["AUTHZ_HTTP_ADDR"], 8081)},
		"upstream":    {"upstream", uint32(upstreamPort)},
	}
	if len(l.clusters) != len(want) {
		t.Errorf("envoy.yaml has clusters %v; this test checks %v", slices.Sorted(maps.Keys(l.clusters)), slices.Sorted(maps.Keys(want)))
	}
	for name, w := range want {
		cl, ok := l.clusters[name]
		if !ok {
			t.Errorf("envoy.yaml has no cluster %q", name)
			continue
		}
		host, port := endpoint(t, cl)
		if _, ok := c.Services[host]; !ok {
			t.Errorf("cluster %q points at host %q, which is no compose service", name, host)
		}
		if host != w.host || port != w.port {
			t.Errorf("cluster %q -> %s:%d, want %s:%d", name, host, port, w.host, w.port)
		}
	}
}

// The seeder creates the APIs envoy.yaml routes to.
func TestComposeSeedMatchesEnvoyYAML(t *testing.T) {
	c := loadCompose(t)
	l := loadEnvoyYAML(t)
	seed := service(t, c, "seed")
	if seed.Build == nil || seed.Build.Target != "seed" {
		t.Errorf("seed must build the Dockerfile's seed target, got %+v", seed.Build)
	}
	if d := seed.DependsOn["redis"]; d.Condition != "service_healthy" {
		t.Errorf("seed depends_on redis: condition %q, want service_healthy", d.Condition)
	}
	env := seed.Environment

	ce := perRouteAuthz(t, matchRoute(t, l.hcm, "/")).GetCheckSettings().GetContextExtensions()
	if env["DEMO_API_ID"] != ce["api"] || env["DEMO_STAGE"] != ce["stage"] {
		t.Errorf("seed creates api %q stage %q; envoy.yaml's / route names api %q stage %q",
			env["DEMO_API_ID"], env["DEMO_STAGE"], ce["api"], ce["stage"])
	}

	// The orders API is found through the route table, so its prefix must be
	// the one Envoy routes without a context extension.
	prefix := env["ORDERS_PATH_PREFIX"]
	r := matchRoute(t, l.hcm, prefix+"/1")
	if r.GetMatch().GetPathSeparatedPrefix() != prefix && r.GetMatch().GetPrefix() != prefix {
		t.Errorf("ORDERS_PATH_PREFIX %q is not the prefix of envoy.yaml's route for it (%v)", prefix, r.GetMatch())
	}
	if _, ok := perRouteAuthz(t, r).GetCheckSettings().GetContextExtensions()["api"]; ok {
		t.Errorf("route %v names an api; the orders API should come from the route table", r.GetMatch())
	}

	// seed.sh must use these variables where it creates the APIs.
	script := string(repoFile(t, "deploy/seed/seed.sh"))
	for _, re := range []string{
		`upsert_api "\$DEMO_API_ID"`,
		`upsert_api "\$ORDERS_API_ID"[^\n]*(\n[^\n]*\\)*\n[^\n]*--path-prefix "\$ORDERS_PATH_PREFIX"`,
		`grant add --api "\$DEMO_API_ID" --app "\$DEMO_APP_ID" --stage "\$DEMO_STAGE"`,
	} {
		if !regexp.MustCompile(re).MatchString(script) {
			t.Errorf("deploy/seed/seed.sh does not match %s", re)
		}
	}
}

// The Dockerfile has the stages compose builds, ends in the authzd stage
// (the default target) running as non-root, and exposes authzd's ports.
func TestDockerfileMatchesCompose(t *testing.T) {
	c := loadCompose(t)
	env := service(t, c, "authzd").Environment
	df := string(repoFile(t, "Dockerfile"))

	stages := regexp.MustCompile(`(?m)^FROM \S+ AS (\S+)$`).FindAllStringSubmatch(df, -1)
	var names []string
	for _, s := range stages {
		names = append(names, s[1])
	}
	for name, s := range c.Services {
		if s.Build != nil && !slices.Contains(names, s.Build.Target) {
			t.Errorf("service %s builds target %q; Dockerfile stages are %v", name, s.Build.Target, names)
		}
	}
	if len(names) == 0 || names[len(names)-1] != "authzd" {
		t.Errorf("the last Dockerfile stage (what `docker build .` gives) should be authzd, stages %v", names)
	}
	last := df[strings.LastIndex(df, "\nFROM "):]
	user := regexp.MustCompile(`(?m)^USER (\S+)$`).FindStringSubmatch(last)
	if user == nil || strings.HasPrefix(user[1], "0") || strings.HasPrefix(user[1], "root") {
		t.Errorf("the authzd stage must set a non-root USER, got %v", user)
	}
	m := regexp.MustCompile(`(?m)^EXPOSE (.+)$`).FindAllStringSubmatch(df, -1)
	if len(m) != 1 {
		t.Fatalf("want one EXPOSE line in Dockerfile, got %d", len(m))
	}
	exposed := strings.Fields(m[0][1])
	for _, p := range []uint32{addrPort(t, env["AUTHZ_GRPC_ADDR"], 9001), addrPort(t, env["AUTHZ_HTTP_ADDR"], 8081)} {
		if !slices.Contains(exposed, strconv.Itoa(int(p))) {
			t.Errorf("Dockerfile EXPOSE %v lacks authzd port %d", exposed, p)
		}
	}
}

// authzd trusts X-Forwarded-For from Envoy and from nothing else, so
// failed token requests are counted per client, not once for everyone
// behind Envoy: Envoy has a fixed address in the network's fixed subnet,
// and AUTHZ_TRUSTED_PROXIES is exactly that address.
func TestComposeTrustsEnvoyOnly(t *testing.T) {
	c := loadCompose(t)
	envoyAddr, err := netip.ParseAddr(service(t, c, "envoy").Networks["default"].IPv4Address)
	if err != nil {
		t.Fatalf("envoy needs a fixed networks.default.ipv4_address for authzd to trust: %v", err)
	}
	cfg := c.Networks["default"].IPAM.Config
	if len(cfg) != 1 {
		t.Fatalf("the default network needs one fixed ipam subnet, got %+v", cfg)
	}
	subnet, err := netip.ParsePrefix(cfg[0].Subnet)
	if err != nil || !subnet.Contains(envoyAddr) {
		t.Errorf("envoy's address %s is not in the network's subnet %q (%v)", envoyAddr, cfg[0].Subnet, err)
	}
	got := service(t, c, "authzd").Environment["AUTHZ_TRUSTED_PROXIES"]
	if want := envoyAddr.String() + "/32"; got != want && got != envoyAddr.String() {
		t.Errorf("authzd AUTHZ_TRUSTED_PROXIES = %q, want Envoy's address %s only", got, want)
	}
}
