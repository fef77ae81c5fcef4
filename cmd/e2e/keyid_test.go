package e2e

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz/sign"
	"github.com/appauthz/appauthz/store"
)

// Data written by the previous release (store format 1): the app_key in
// clear in key names, key sets and token records, the secret sealed with
// the app_key as GCM additional data. writeFormat1 writes it with raw
// commands, as that release did.
const (
	oldKey    = "0a1b2c3d4e5f60718293a4b5c6d7e8f9" // a generated key of that release
	oldSecret = "old-release-secret-0123456789"
	oldToken  = "old-release-bearer-token-0123456789abcdef"
)

func sealFormat1(t *testing.T, appKey, secret string) string {
	t.Helper()
	block, err := aes.NewCipher(masterKey.key)
	if err != nil {
		t.Fatal(err)
	}
	aead, _ := cipher.NewGCM(block)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	out := aead.Seal(nonce, nonce, []byte(secret), []byte("appauthz:key-secret:"+appKey))
	return "v1:" + store.KeyID(masterKey.key) + ":" + base64.RawURLEncoding.EncodeToString(out)
}

func writeFormat1(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	ctx := t.Context()
	sum := sha256.Sum256([]byte(oldToken))
	tok := hex.EncodeToString(sum[:])
	rec, _ := json.Marshal(map[string]any{"app_id": "legacy", "app_key": oldKey, "scopes": []string{}})
	exp := float64(time.Now().Add(time.Hour).UnixMicro())
	for _, err := range []error{
		rdb.SAdd(ctx, "appauthz:apps", "legacy").Err(),
		rdb.HSet(ctx, "appauthz:app:{legacy}", "name", "Legacy", "status", "active", "created_at", "1700000000").Err(),
		rdb.SAdd(ctx, "appauthz:app:{legacy}:keys", oldKey).Err(),
		rdb.HSet(ctx, "appauthz:key:{"+oldKey+"}", "app_id", "legacy", "secret", sealFormat1(t, oldKey, oldSecret), "scopes", "",
			"status", "active", "expires_at", "0", "created_at", "1700000000").Err(),
		rdb.HSet(ctx, "appauthz:api:{orders}", "methods", "key,hmac,oauth2", "access", "authenticated").Err(),
		rdb.SAdd(ctx, "appauthz:apis", "orders").Err(),
		rdb.Set(ctx, "appauthz:token:{"+tok+"}", rec, time.Hour).Err(),
		rdb.ZAdd(ctx, "appauthz:app:{legacy}:tokens", redis.Z{Score: exp, Member: tok}).Err(),
		rdb.ZAdd(ctx, "appauthz:key:{"+oldKey+"}:tokens", redis.Z{Score: exp, Member: tok}).Err(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// An upgrade: data of the previous release keeps working through the new
// authzd before `authzctl migrate`, which then moves it to hashed names
// with key ids (twice: the second run changes nothing), after which no
// app_key is left in clear anywhere in Redis.
func TestUpgradeMigrate(t *testing.T) {
	srv := startRedis(t)
	url := srv.URL()
	writeFormat1(t, srv.client(t))
	d := startAuthzd(t, url, "--drain-delay", "0s")
	if logs := d.logs.String(); !strings.Contains(logs, "authzctl migrate") {
		t.Errorf("authzd does not tell the operator to migrate:\n%s", logs)
	}

	n := 0
	byKey := func() *outcome {
		return d.check(t, withAPI(get("http://api.example.com/orders", "X-App-Key", oldKey), "orders"))
	}
	signed := func() *outcome {
		n++
		return d.check(t, withAPI(hmacReq(t, sign.HMAC{Key: oldKey, Secret: oldSecret}, "GET", "http://api.example.com/orders?n="+string(rune('a'+n)), nil), "orders"))
	}
	byToken := func(tok string) *outcome {
		return d.check(t, withAPI(get("http://api.example.com/orders", "Authorization", "Bearer "+tok), "orders"))
	}
	o := byKey()
	o.wantAllow(t, "legacy")
	kid := o.set["x-appauthz-key"]
	if !strings.HasPrefix(kid, "kid_") {
		t.Fatalf("x-appauthz-key = %q before migrate, want a key id", kid)
	}
	signed().wantAllow(t, "legacy")
	byToken(oldToken).wantAllow(t, "legacy")
	issued := d.post(t, "/oauth2/token", grant(""), oldKey, oldSecret)
	if issued.status != 200 {
		t.Fatalf("token for a format-1 key: %d %v", issued.status, issued.body)
	}
	newTok := issued.str("access_token")
	byToken(newTok).wantAllow(t, "legacy")

	// Other writes wait for the migration.
	if _, errOut, code := ctlRaw(url, "app", "create", "--name", "x"); code != 1 || !strings.Contains(errOut, "authzctl migrate") {
		t.Errorf("write on a format-1 store: exit %d %q, want 1 and to run `authzctl migrate`", code, errOut)
	}

	first := ctl(t, url, "migrate")
	// The token issued before the migration already names the key id;
	// only the older one is rewritten.
	if first["from"] != float64(1) || first["to"] != float64(2) || first["keys"] != float64(1) || first["tokens"] != float64(1) {
		t.Errorf("first migrate = %v", first)
	}
	second := ctl(t, url, "migrate")
	if second["from"] != float64(2) || second["keys"] != float64(0) || second["tokens"] != float64(0) || second["other"] != float64(0) {
		t.Errorf("second migrate = %v, want no change", second)
	}

	o = byKey()
	o.wantAllow(t, "legacy")
	if o.set["x-appauthz-key"] != kid {
		t.Errorf("key id changed across the migration: %q then %q", kid, o.set["x-appauthz-key"])
	}
	signed().wantAllow(t, "legacy")
	byToken(oldToken).wantAllow(t, "legacy")
	byToken(newTok).wantAllow(t, "legacy")
	if d.post(t, "/oauth2/token", grant(""), oldKey, oldSecret).status != 200 {
		t.Error("token endpoint refuses the migrated key")
	}
	var list struct {
		Keys []store.KeyInfo `json:"keys"`
	}
	out, _, _ := ctlRaw(url, "-o", "json", "key", "list", "--app", "legacy")
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Keys) != 1 || list.Keys[0].KeyID != kid {
		t.Errorf("key list after migrate = %s (%v), want the key id %s", out, err, kid)
	}
	ctl(t, url, "app", "create", "--name", "After", "--id", "after")

	// Revoking by key id ends the key and the tokens issued before and
	// after the migration (the token index moved with the key).
	ctl(t, url, "key", "revoke", kid)
	byKey().wantDeny(t, 401, "UnknownAppKey")
	byToken(oldToken).wantDeny(t, 401, "InvalidToken")
	byToken(newTok).wantDeny(t, 401, "InvalidToken")

	scanRedisFor(t, srv, []string{oldKey, oldSecret, oldToken, newTok})
	if logs := d.logs.String(); strings.Contains(logs, oldKey) {
		t.Error("the app_key appears in authzd's logs")
	}
}

// A key restricted with --methods: its app_key alone is refused on an API
// that accepts key (as an unknown key), it still signs, and it cannot get
// an OAuth2 token unless oauth2 is listed.
func TestKeyMethodsEndToEnd(t *testing.T) {
	srv := startRedis(t)
	url := srv.URL()
	app := ctl(t, url, "app", "create", "--name", "Signer", "--id", "signer", "--methods", "hmac,paramsign")
	key, secret := app["app_key"].(string), app["app_secret"].(string)
	short := ctl(t, url, "key", "create", "--app", "signer", "--key", "imported-1", "--secret", "imported-secret-1", "--methods", "hmac")
	if short["methods"] == nil || short["key_id"] == "" {
		t.Fatalf("key create answered %v", short)
	}
	ctl(t, url, "api", "create", "--id", "mixed", "--methods", "key,hmac,paramsign,oauth2", "--access", "authenticated")
	d := startAuthzd(t, url, "--drain-delay", "0s")

	for _, k := range []string{key, "imported-1"} {
		d.check(t, withAPI(get("http://api.example.com/x", "X-App-Key", k), "mixed")).wantDeny(t, 401, "UnknownAppKey")
		d.check(t, withAPI(get("http://api.example.com/x?appKey="+k), "mixed")).wantDeny(t, 401, "UnknownAppKey")
	}
	o := d.check(t, withAPI(hmacReq(t, sign.HMAC{Key: key, Secret: secret}, "GET", "http://api.example.com/x", nil), "mixed"))
	o.wantAllow(t, "signer")
	if o.set["x-appauthz-key"] != app["key_id"] {
		t.Errorf("x-appauthz-key = %q, want the key id %v", o.set["x-appauthz-key"], app["key_id"])
	}
	d.check(t, withAPI(hmacReq(t, sign.HMAC{Key: "imported-1", Secret: "imported-secret-1"}, "GET", "http://api.example.com/y", nil), "mixed")).wantAllow(t, "signer")
	if r := d.post(t, "/oauth2/token", grant(""), key, secret); r.status != 401 || r.str("error") != "invalid_client" {
		t.Errorf("token for a key without oauth2: %d %v, want 401 invalid_client", r.status, r.body)
	}
	if !strings.Contains(d.logs.String(), "may not be used with method key") {
		t.Errorf("the log does not say why the bare key was refused")
	}
}
