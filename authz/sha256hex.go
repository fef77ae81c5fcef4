package authz

import (
	"crypto/sha256"
	"encoding/hex"
)

// sha256Hex is the lowercase hex SHA-256 of s, the form in which AppCodes,
// app_keys and tokens are stored and looked up. It encodes into a stack
// buffer, so a Check pays one allocation per hash (the string), not two.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	var buf [2 * sha256.Size]byte
	hex.Encode(buf[:], sum[:])
	return string(buf[:])
}
