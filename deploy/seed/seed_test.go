// Package seed_test runs deploy/seed/seed.sh, the docker-compose seeder, with
// the real authzctl against a real redis-server, twice, and reads back what
// authzd would see.
package seed_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store"
	"github.com/appauthz/appauthz/store/redistest"
)

// composeSeedEnv is the seed service's environment in docker-compose.yml.
func composeSeedEnv(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Environment map[string]string `json:"environment"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	env := c.Services["seed"].Environment
	if len(env) == 0 {
		t.Fatalf("docker-compose.yml: the seed service has no environment")
	}
	return env
}

// buildAuthzctl builds cmd/authzctl into a fresh directory and returns it.
func buildAuthzctl(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build authzctl: %v", err)
	}
	dir := t.TempDir()
	cmd := exec.Command(gobin, "build", "-o", dir, "github.com/appauthz/appauthz/cmd/authzctl")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build authzctl: %v\n%s", err, out)
	}
	return dir
}

// composeMasterKey is the host file docker-compose.yml mounts at the seed
// service's AUTHZ_MASTER_KEY_FILE.
func composeMasterKey(t *testing.T, env map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Volumes []string `json:"volumes"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, v := range c.Services["seed"].Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == env["AUTHZ_MASTER_KEY_FILE"] {
			return filepath.Join("..", "..", parts[0])
		}
	}
	t.Fatalf("docker-compose.yml: the seed service mounts nothing at AUTHZ_MASTER_KEY_FILE %q", env["AUTHZ_MASTER_KEY_FILE"])
	return ""
}

func runSeed(t *testing.T, binDir, redisURL string, env map[string]string) string {
	t.Helper()
	cmd := exec.Command("sh", "seed.sh")
	cmd.Env = []string{"PATH=" + binDir + string(os.PathListSeparator) + os.Getenv("PATH"), "AUTHZ_REDIS_URL=" + redisURL,
		"AUTHZ_MASTER_KEY_FILE=" + composeMasterKey(t, env)}
	for k, v := range env {
		if k != "AUTHZ_REDIS_URL" && k != "AUTHZ_MASTER_KEY_FILE" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("seed.sh failed: %v\n%s", err, out)
	}
	return string(out)
}

func TestSeedIsIdempotent(t *testing.T) {
	env := composeSeedEnv(t)
	bin := buildAuthzctl(t)
	srv := redistest.Start(t)

	first := runSeed(t, bin, srv.URL(), env)
	for _, want := range []string{"api demo created", "api orders created", "app demo-app created"} {
		if !strings.Contains(first, want) {
			t.Errorf("first run: output lacks %q:\n%s", want, first)
		}
	}
	if strings.Contains(first, env["DEMO_APP_SECRET"]) {
		t.Errorf("seed.sh printed the app secret")
	}
	// `docker compose up` again: must succeed over existing data.
	second := runSeed(t, bin, srv.URL(), env)
	for _, want := range []string{"api demo existed", "api orders existed", "app demo-app existed"} {
		if !strings.Contains(second, want) {
			t.Errorf("second run: output lacks %q:\n%s", want, second)
		}
	}

	// Read back through the interface authzd's decision core uses.
	key, err := store.LoadMasterKey(composeMasterKey(t, env))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := store.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(srv.Client(t), store.WithKeyring(kr))
	ctx := context.Background()
	codeHash := sha256.Sum256([]byte(env["DEMO_APPCODE"]))
	lr, err := st.Lookup(ctx, authz.LookupQuery{
		APIID:         env["DEMO_API_ID"],
		AppKeys:       []string{env["DEMO_APP_KEY"]},
		AppCodeHashes: []string{hex.EncodeToString(codeHash[:])},
	})
	if err != nil {
		t.Fatal(err)
	}
	api := lr.API
	if api == nil {
		t.Fatalf("api %s not found", env["DEMO_API_ID"])
	}
	for _, m := range []string{"appcode", "key", "hmac", "paramsign", "oauth2"} {
		if !api.Allows(authz.Method(m)) {
			t.Errorf("api %s does not allow %s: %v", api.ID, m, api.Methods)
		}
	}
	if api.Access != authz.AccessAuthorized || string(api.AppCodeMode) != "header-query" || api.Route.PathPrefix != "/" {
		t.Errorf("api %s = access %q appcode mode %q route %+v; want authorized, header-query, prefix /", api.ID, api.Access, api.AppCodeMode, api.Route)
	}
	k := lr.Keys[authz.HashAppKey(env["DEMO_APP_KEY"])]
	if k == nil || k.AppID != env["DEMO_APP_ID"] || k.Secret != env["DEMO_APP_SECRET"] {
		t.Errorf("key %s = %+v, want app %s with the demo secret", env["DEMO_APP_KEY"], k, env["DEMO_APP_ID"])
	}
	// Sealed under the compose master key, never in clear.
	if raw := srv.Client(t).HGet(ctx, "appauthz:key:{"+authz.HashAppKey(env["DEMO_APP_KEY"])+"}", "secret").Val(); raw == env["DEMO_APP_SECRET"] || !strings.HasPrefix(raw, "v1:"+kr.ID()+":") {
		t.Errorf("the demo secret is stored as %q…, want sealed under master key %s", raw[:min(len(raw), 12)], kr.ID())
	}
	if c := lr.AppCodes[hex.EncodeToString(codeHash[:])]; c == nil || c.AppID != env["DEMO_APP_ID"] {
		t.Errorf("AppCode resolves to %+v, want app %s", c, env["DEMO_APP_ID"])
	}

	pr, err := st.Principal(ctx, authz.PrincipalQuery{AppIDs: []string{env["DEMO_APP_ID"]}, GrantAPI: env["DEMO_API_ID"], Stage: env["DEMO_STAGE"]})
	if err != nil {
		t.Fatal(err)
	}
	if a := pr.Apps[env["DEMO_APP_ID"]]; a == nil || a.Name != env["DEMO_APP_NAME"] {
		t.Errorf("app %s = %+v, want name %q", env["DEMO_APP_ID"], a, env["DEMO_APP_NAME"])
	}
	if pr.Grants[env["DEMO_APP_ID"]] == nil {
		t.Errorf("no grant for %s on %s/%s", env["DEMO_APP_ID"], env["DEMO_API_ID"], env["DEMO_STAGE"])
	}

	// The orders API is in the route table (Envoy names no API for it).
	rt, err := st.Lookup(ctx, authz.LookupQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rt.Routes, func(r authz.Route) bool {
		return r.API == env["ORDERS_API_ID"] && r.PathPrefix == env["ORDERS_PATH_PREFIX"] && r.Host == ""
	}) {
		t.Errorf("route table %+v lacks %s at prefix %s", rt.Routes, env["ORDERS_API_ID"], env["ORDERS_PATH_PREFIX"])
	}
}
