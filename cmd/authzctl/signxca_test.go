package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// TestSignXCA: the printed headers are the ones a hand-built string to
// sign gives, and the curl line sends the Accept and Content-Type that
// were signed (curl's own defaults would break the signature).
func TestSignXCA(t *testing.T) {
	out, err := runSign(t, "-o", "json", "sign", "xca", "--key", "K1", "--secret", "S1", "--now", "1498165956", "--nonce", "n1",
		"-H", "X-Tenant: t", "--sign-headers", "X-Tenant", "-d", "b=2+x&a=", "POST", "https://api.example.com/orders?z=1&b=q")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Headers      map[string]string `json:"headers"`
		StringToSign string            `json:"string_to_sign"`
		Curl         string            `json:"curl"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	sts := "POST\napplication/json\n\napplication/x-www-form-urlencoded\n\nX-Ca-Key:K1\nX-Ca-Nonce:n1\nX-Ca-Timestamp:1498165956000\nX-Tenant:t\n/orders?a&b=2 x&z=1"
	m := hmac.New(sha256.New, []byte("S1"))
	m.Write([]byte(sts))
	if got.StringToSign != sts || got.Headers["X-Ca-Signature"] != base64.StdEncoding.EncodeToString(m.Sum(nil)) {
		t.Fatalf("got %q %v", got.StringToSign, got.Headers)
	}
	if got.Headers["Content-MD5"] != "" {
		t.Fatal("a form body got a Content-MD5; the SDKs send none")
	}
	for _, want := range []string{"-H 'Accept: application/json'", "-H 'Content-Type: application/x-www-form-urlencoded'", "-H 'X-Ca-Signature-Headers: X-Ca-Key,X-Ca-Nonce,X-Ca-Timestamp,X-Tenant'", "--data-binary 'b=2+x&a='"} {
		if !strings.Contains(got.Curl, want) {
			t.Fatalf("curl line lacks %s: %s", want, got.Curl)
		}
	}
	if strings.Contains(out, "S1\"") || strings.Contains(got.Curl, "S1") {
		t.Fatal("secret printed")
	}
	if _, err := runSign(t, "sign", "xca", "--key", "K1", "--secret", "S1", "--algorithm", "HmacMD5", "GET", "https://h/"); err == nil {
		t.Fatal("unknown algorithm accepted")
	}
}
