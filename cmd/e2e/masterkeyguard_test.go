package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/sign"
	"github.com/appauthz/appauthz/store"
)

// writeMasterKey writes a fresh master key into a file of its own.
func writeMasterKey(t *testing.T, name string) (file, id string) {
	t.Helper()
	kr, key := store.NewRandomKeyring()
	file = filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, key, 0o600); err != nil {
		t.Fatal(err)
	}
	return file, kr.ID()
}

// authzctl with another master key than the store's: the write is
// refused (exit 1) instead of sealing a secret no authzd opens, which
// made every Check of the app a 503, X-App-Key included.
func TestWrongMasterKeyRefused(t *testing.T) {
	srv := startRedis(t)
	url := srv.URL()
	app := ctl(t, url, "app", "create", "--name", "Shop", "--id", "shop")
	key, secret := app["app_key"].(string), app["app_secret"].(string)
	ctl(t, url, "api", "create", "--id", "orders", "--methods", "key,hmac", "--access", "authenticated")
	d := startAuthzd(t, url)

	other, otherID := writeMasterKey(t, "other.key")
	for _, args := range [][]string{
		{"key", "create", "--app", "shop"},
		{"app", "create", "--name", "Other"},
	} {
		out, errOut, code := ctlRaw(url, append([]string{"--master-key-file", other}, args...)...)
		if code != 1 || out != "" || !strings.Contains(errOut, "the master key "+otherID+" does not seal any data in this store (it seals with "+masterKey.keyring.ID()+")") ||
			!strings.Contains(errOut, "--master-key-file") {
			t.Errorf("authzctl --master-key-file other.key %s: exit %d, stdout %q, stderr %q; want exit 1 naming both keys", strings.Join(args, " "), code, out, errOut)
		}
	}
	if keys := ctl(t, url, "key", "list", "--app", "shop")["keys"].([]any); len(keys) != 1 {
		t.Errorf("the app has %d keys after the refused write, want 1", len(keys))
	}
	if apps := ctl(t, url, "app", "list")["apps"].([]any); len(apps) != 1 {
		t.Errorf("%d apps after the refused write, want 1", len(apps))
	}

	d.check(t, withAPI(get("http://api.example.com/orders", "X-App-Key", key), "orders")).wantAllow(t, "shop")
	d.check(t, withAPI(hmacReq(t, sign.HMAC{Key: key, Secret: secret}, "GET", "http://api.example.com/orders", nil), "orders")).wantAllow(t, "shop")
	// The right key still writes.
	ctl(t, url, "key", "create", "--app", "shop")
}

// rotate-master runs only once every live authzd opens the new key:
// refused while one runs with the old key alone, allowed after it was
// restarted with the new key as current and the old as
// --old-master-key-file; the old key then writes no more.
func TestRotateMasterOrderEnforced(t *testing.T) {
	srv := startRedis(t)
	url := srv.URL()
	app := ctl(t, url, "app", "create", "--name", "Shop", "--id", "shop")
	key, secret := app["app_key"].(string), app["app_secret"].(string)
	ctl(t, url, "api", "create", "--id", "orders", "--methods", "key,hmac", "--access", "authenticated")
	oldFile, oldID := masterKey.file, masterKey.keyring.ID()
	newFile, newID := writeMasterKey(t, "new.key")
	rotate := []string{"--master-key-file", newFile, "--old-master-key-file", oldFile, "secrets", "rotate-master"}

	d := startAuthzd(t, url)
	out, errOut, code := ctlRaw(url, rotate...)
	if code != 1 || out != "" || !strings.Contains(errOut, "cannot open the new master key "+newID) || !strings.Contains(errOut, "(opens "+oldID+")") {
		t.Fatalf("rotate-master while authzd opens only the old key: exit %d, stdout %q, stderr %q; want exit 1 naming the authzd", code, out, errOut)
	}
	if v := srv.client(t).HGet(t.Context(), "appauthz:key:{"+authz.HashAppKey(key)+"}", "secret").Val(); !strings.HasPrefix(v, "v1:"+oldID+":") {
		t.Errorf("the refused rotation re-sealed the secret: %.12s…", v)
	}
	d.check(t, withAPI(hmacReq(t, sign.HMAC{Key: key, Secret: secret}, "GET", "http://api.example.com/orders", nil), "orders")).wantAllow(t, "shop")

	d.stop(t)
	d = startAuthzd(t, url, "--master-key-file", newFile, "--old-master-key-file", oldFile)
	res := ctl(t, url, rotate...)
	if res["master_key_id"] != newID || res["resealed"] != float64(1) {
		t.Errorf("rotate-master after the restart answered %v, want 1 key re-sealed under %s", res, newID)
	}
	d.check(t, withAPI(get("http://api.example.com/orders", "X-App-Key", key), "orders")).wantAllow(t, "shop")
	d.check(t, withAPI(hmacReq(t, sign.HMAC{Key: key, Secret: secret}, "GET", "http://api.example.com/orders", nil), "orders")).wantAllow(t, "shop")

	// The old key seals nothing any more: writing with it is refused.
	if _, errOut, code := ctlRaw(url, "key", "create", "--app", "shop"); code != 1 || !strings.Contains(errOut, "it seals with "+newID+")") {
		t.Errorf("key create with the retired key: exit %d, %q; want exit 1", code, errOut)
	}
	ctl(t, url, "--master-key-file", newFile, "key", "create", "--app", "shop")
}
