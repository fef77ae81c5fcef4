package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	istioconfig "github.com/appauthz/appauthz/deploy/istio"
	"github.com/appauthz/appauthz/store/redistest"
)

// imageEntrypoint is the authzd image's ENTRYPOINT (Dockerfile), which runs
// when the container gives no command.
const imageEntrypoint = "/usr/local/bin/authzd"

// operatorSecrets are the Secrets deploy/istio/README.md tells the operator
// to create by hand, with contents in the documented format: the master key
// is base64 of 32 random bytes plus a newline, as
// `head -c 32 /dev/urandom | base64 > master.key` writes it.
func operatorSecrets(t *testing.T) map[string]map[string][]byte {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return map[string]map[string][]byte{
		"appauthz-master-key": {"master.key": []byte(base64.StdEncoding.EncodeToString(key) + "\n")},
	}
}

// authzdDeployment is the authzd Deployment of deploy/istio with the
// Secrets the manifests define, decoded strictly.
func authzdDeployment(t *testing.T) (*appsv1.Deployment, map[string]map[string][]byte) {
	t.Helper()
	docs, err := istioconfig.Load("../../deploy/istio")
	if err != nil {
		t.Fatalf("deploy/istio manifests:\n%v", err)
	}
	var dep *appsv1.Deployment
	for _, d := range istioconfig.Of[*appsv1.Deployment](docs) {
		if d.Name == "authzd" {
			dep = d
		}
	}
	if dep == nil || len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("deploy/istio: want a Deployment authzd with one container")
	}
	secrets := operatorSecrets(t)
	for _, s := range istioconfig.Of[*corev1.Secret](docs) {
		if _, dup := secrets[s.Name]; dup {
			t.Fatalf("Secret %s is both in the manifests and created by hand per the README", s.Name)
		}
		data := map[string][]byte{}
		for k, v := range s.Data {
			data[k] = v
		}
		for k, v := range s.StringData {
			data[k] = []byte(v)
		}
		secrets[s.Name] = data
	}
	return dep, secrets
}

// podRun is how authzd would run in the pod, rewritten for this machine.
type podRun struct {
	args     []string
	env      []string
	grpcAddr string
	httpAddr string
	// ports maps a container port to the loopback address its listener
	// moved to.
	ports map[int32]string
}

// listenVars are authzd's listener settings: the test moves them to free
// loopback ports, keeping the mapping from the container port.
var listenVars = []string{"AUTHZ_GRPC_ADDR", "AUTHZ_HTTP_ADDR"}

// podEnvironment turns the container's env, volume mounts and args into a
// command line on this machine. Only two things change: mount paths gain
// the prefix root (where the volumes' files are written), and Redis's
// Service address becomes redisAddr. Listen addresses move to free
// loopback ports.
func podEnvironment(t *testing.T, dep *appsv1.Deployment, secrets map[string]map[string][]byte, root, redisAddr string) podRun {
	t.Helper()
	pod := dep.Spec.Template.Spec
	ctr := pod.Containers[0]

	// Volumes: write each mounted Secret's files as the kubelet would.
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	var mounts []string
	for _, m := range ctr.VolumeMounts {
		v, ok := vols[m.Name]
		if !ok {
			t.Fatalf("volumeMount %s names no volume of the pod", m.Name)
		}
		if v.Secret == nil {
			t.Fatalf("volume %s: only secret volumes are modelled here", v.Name)
		}
		data, ok := secrets[v.Secret.SecretName]
		if !ok {
			t.Fatalf("volume %s: Secret %q is neither in the manifests nor documented for the operator to create", v.Name, v.Secret.SecretName)
		}
		mode := os.FileMode(0o644) // the kubelet's default
		if v.Secret.DefaultMode != nil {
			mode = os.FileMode(*v.Secret.DefaultMode)
		}
		files := map[string][]byte{}
		if len(v.Secret.Items) == 0 {
			for k, b := range data {
				files[k] = b
			}
		}
		for _, it := range v.Secret.Items {
			b, ok := data[it.Key]
			if !ok {
				t.Fatalf("volume %s: Secret %s has no key %q", v.Name, v.Secret.SecretName, it.Key)
			}
			files[it.Path] = b
		}
		dir := filepath.Join(root, m.MountPath)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, name), b, mode); err != nil {
				t.Fatal(err)
			}
		}
		mounts = append(mounts, m.MountPath)
	}
	inMount := func(s string) string {
		for _, m := range mounts {
			if s == m || strings.HasPrefix(s, strings.TrimSuffix(m, "/")+"/") {
				return filepath.Join(root, s)
			}
		}
		return s
	}

	run := podRun{ports: map[int32]string{}}
	vars := map[string]string{}
	var order []string
	for _, e := range ctr.Env {
		var v string
		switch {
		case e.ValueFrom == nil:
			v = expand(e.Value, vars)
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			b, ok := secrets[ref.Name][ref.Key]
			if !ok {
				t.Fatalf("env %s: Secret %s has no key %q", e.Name, ref.Name, ref.Key)
			}
			v = string(b)
		default:
			t.Fatalf("env %s: only value and secretKeyRef are modelled here", e.Name)
		}
		switch {
		case e.Name == "AUTHZ_REDIS_URL":
			u, err := url.Parse(v)
			if err != nil {
				t.Fatalf("AUTHZ_REDIS_URL %q: %v", v, err)
			}
			u.Host = redisAddr
			v = u.String()
		case slices.Contains(listenVars, e.Name):
			v = run.listen(t, e.Name, v)
		default:
			v = inMount(v)
		}
		if _, seen := vars[e.Name]; !seen {
			order = append(order, e.Name)
		}
		vars[e.Name] = v
	}
	// A listener the manifest leaves at its default still needs a free port.
	for _, name := range listenVars {
		if _, ok := vars[name]; !ok {
			def := map[string]string{"AUTHZ_GRPC_ADDR": ":9001", "AUTHZ_HTTP_ADDR": ":8081"}[name]
			vars[name] = run.listen(t, name, def)
			order = append(order, name)
		}
	}
	for _, name := range order {
		run.env = append(run.env, name+"="+vars[name])
	}

	if len(ctr.Command) > 0 && !slices.Equal(ctr.Command, []string{imageEntrypoint}) {
		t.Fatalf("container command %q: the image runs %s", ctr.Command, imageEntrypoint)
	}
	for _, a := range ctr.Args {
		run.args = append(run.args, inMount(expand(a, vars)))
	}
	return run
}

// listen moves a listen address to a free loopback port.
func (r *podRun) listen(t *testing.T, name, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s %q: %v", name, addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%s %q: %v", name, addr, err)
	}
	free := freeAddr(t)
	r.ports[int32(port)] = free
	switch name {
	case "AUTHZ_GRPC_ADDR":
		r.grpcAddr = free
	case "AUTHZ_HTTP_ADDR":
		r.httpAddr = free
	}
	return free
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expand replaces $(VAR) with earlier variables, as the kubelet does in env
// values and args; unknown references stay as written.
func expand(s string, vars map[string]string) string {
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := vars[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// startPod runs authzd with exactly run's arguments and environment: the
// test process's own AUTHZ_* variables (the e2e master key) are not
// inherited.
func startPod(t *testing.T, run podRun) *daemon {
	t.Helper()
	d := &daemon{grpcAddr: run.grpcAddr, httpAddr: run.httpAddr}
	cmd := exec.Command(bins.authzd, run.args...)
	cmd.Env = run.env
	d.start(t, cmd, insecure.NewCredentials())
	return d
}

// probeStatus runs an httpGet probe of the container against the moved
// listeners.
func probeStatus(t *testing.T, ctr corev1.Container, run podRun, p *corev1.Probe) int {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Fatalf("container %s: want httpGet probes", ctr.Name)
	}
	port := p.HTTPGet.Port.IntVal
	if p.HTTPGet.Port.Type == intstr.String {
		i := slices.IndexFunc(ctr.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.HTTPGet.Port.StrVal })
		if i < 0 {
			t.Fatalf("probe port %q is no named port of the container", p.HTTPGet.Port.StrVal)
		}
		port = ctr.Ports[i].ContainerPort
	}
	addr, ok := run.ports[port]
	if !ok {
		t.Fatalf("probe port %d: authzd does not listen there (%v)", port, run.ports)
	}
	resp, err := http.Get("http://" + addr + p.HTTPGet.Path)
	if err != nil {
		t.Fatalf("probe %s: %v", p.HTTPGet.Path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The Istio Deployment starts: authzd run with exactly the env, args and
// mounted files deploy/istio/authzd.yaml declares (the master key Secret as
// the README says to create it), against a real redis-server standing in
// for the Redis Service, turns SERVING and passes its probes.
func TestIstioDeploymentStarts(t *testing.T) {
	dep, secrets := authzdDeployment(t)
	r := redistest.Start(t)
	run := podEnvironment(t, dep, secrets, t.TempDir(), r.Addr())

	d := startPod(t, run)
	d.waitHealth(t, healthpb.HealthCheckResponse_SERVING, 15*time.Second)
	ctr := dep.Spec.Template.Spec.Containers[0]
	if got := probeStatus(t, ctr, run, ctr.ReadinessProbe); got != http.StatusOK {
		t.Errorf("readiness probe %s = %d, want 200", ctr.ReadinessProbe.HTTPGet.Path, got)
	}
	if got := probeStatus(t, ctr, run, ctr.LivenessProbe); got != http.StatusOK {
		t.Errorf("liveness probe %s = %d, want 200", ctr.LivenessProbe.HTTPGet.Path, got)
	}
	if !strings.Contains(d.logs.String(), `"master_key_id":"`) || strings.Contains(d.logs.String(), `"master_key_id":"none"`) {
		t.Errorf("authzd did not log the master key it loaded")
	}
}

// The test above fails when the manifest loses what authzd needs: the same
// harness, fed a Deployment with the master key mount dropped or an
// argument authzd rejects, sees authzd exit instead of serving.
func TestIstioDeploymentBroken(t *testing.T) {
	tests := map[string]struct {
		edit    func(*appsv1.Deployment)
		wantLog string
	}{
		"master key mount dropped": {
			edit: func(d *appsv1.Deployment) {
				c := &d.Spec.Template.Spec.Containers[0]
				c.VolumeMounts = slices.DeleteFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "master-key" })
			},
			wantLog: "--master-key-file",
		},
		"master key variable dropped": {
			edit: func(d *appsv1.Deployment) {
				c := &d.Spec.Template.Spec.Containers[0]
				c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "AUTHZ_MASTER_KEY_FILE" })
			},
			wantLog: "no master key",
		},
		"an argument authzd rejects": {
			edit: func(d *appsv1.Deployment) {
				c := &d.Spec.Template.Spec.Containers[0]
				c.Args = append(c.Args, "--no-such-flag")
			},
			wantLog: "no-such-flag",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dep, secrets := authzdDeployment(t)
			tc.edit(dep)
			r := redistest.Start(t)
			run := podEnvironment(t, dep, secrets, t.TempDir(), r.Addr())
			d := startPod(t, run)
			select {
			case <-d.exited:
			case <-time.After(15 * time.Second):
				t.Fatalf("authzd still runs (health %s); it should have refused to start", d.healthStatus())
			}
			if code := d.cmd.ProcessState.ExitCode(); code == 0 {
				t.Errorf("authzd exited 0, want a failure")
			}
			if !strings.Contains(d.logs.String(), tc.wantLog) {
				t.Errorf("authzd output does not mention %q:\n%s", tc.wantLog, d.logs.String())
			}
		})
	}
}
