package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"regexp"
	"strings"
)

// Generated credentials: 128 bits of crypto/rand each (the app id 64), hex
// so they survive headers, query strings and shells unquoted. AppCodes are
// upper case like the seed's 3F2504E04F8911D39A0C0305E82C3301.

func randomHex(nBytes int) string {
	b := make([]byte, nBytes)
	rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return hex.EncodeToString(b)
}

func newAppID() string   { return randomHex(8) }
func newAppKey() string  { return randomHex(16) }
func newSecret() string  { return randomHex(16) }
func newAppCode() string { return strings.ToUpper(randomHex(16)) }

// newKeyID is a key's public name: "kid_" and 20 base32 digits (100
// random bits). It is not a credential and proves nothing; it lets the
// upstream, logs and admin commands name a key without its app_key.
func newKeyID() string {
	b := make([]byte, 13)
	rand.Read(b)
	return "kid_" + strings.ToLower(base32.StdEncoding.EncodeToString(b))[:20]
}

// legacyKeyID is the key id of a format-1 record (written before key ids
// existed), derived from its app_key hash so that it is the same before and
// after `authzctl migrate`. A one-way function of the hash: it reveals no
// more than the record name already does.
func legacyKeyID(hash string) string {
	sum := sha256.Sum256([]byte("appauthz:legacy-key-id:" + hash))
	return "kid_" + strings.ToLower(base32.StdEncoding.EncodeToString(sum[:13]))[:20]
}

var keyIDPattern = regexp.MustCompile(`^kid_[a-z2-7]{20}$`)

// isKeyID reports whether s has the shape of a key id.
func isKeyID(s string) bool { return keyIDPattern.MatchString(s) }

var hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// validHash reports whether h is a lowercase SHA-256 hex digest, the only
// shape an AppCode or token record can have.
func validHash(h string) bool { return hashPattern.MatchString(h) }
