package store

import (
	"crypto/rand"
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

var hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// validHash reports whether h is a lowercase SHA-256 hex digest, the only
// shape an AppCode or token record can have.
func validHash(h string) bool { return hashPattern.MatchString(h) }
