package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/appauthz/appauthz/authz"
)

// App secrets must stay usable (HMAC and parameter signatures are computed
// with the secret itself), so unlike AppCodes and tokens they cannot be
// hashed. They are sealed with AES-256-GCM under a master key that lives
// outside Redis, so a Redis dump or replica alone reveals no usable secret.
//
// A sealed value is "v1:<kid>:<base64url(nonce|ciphertext|tag)>", where kid
// is the first 8 hex digits of the SHA-256 of the master key. The kid lets
// a Keyring holding the current and the previous master keys open values
// sealed under either while `authzctl secrets rotate-master` re-seals them.
// The GCM additional data is the key record's name (the SHA-256 of the
// app_key; the app_key itself in format 1): a sealed secret copied onto
// another key's record does not open, and re-sealing needs no app_key.

// sealedPrefix starts every sealed value. Secrets can never start with it
// by accident: a plaintext secret has no colon-separated kid after it
// that a Keyring knows.
const sealedPrefix = "v1:"

// MasterKeySize is the size of a master key: AES-256.
const MasterKeySize = 32

// ErrNoMasterKey is returned by sealed reads when the store has no Keyring.
var ErrNoMasterKey = errors.New("app secrets are encrypted in Redis but no master key was given")

// Keyring holds the master keys: the current one seals, any of them opens.
type Keyring struct {
	current string // kid
	aeads   map[string]cipher.AEAD
	// plaintext, when set, accepts secrets stored in clear (written before
	// encryption was turned on, or by --insecure-plaintext-secrets).
	plaintext bool
}

// NewKeyring builds a Keyring sealing under current and also opening with
// old (rotation). Each key must be MasterKeySize bytes.
func NewKeyring(current []byte, old ...[]byte) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, key := range append([][]byte{current}, old...) {
		if len(key) != MasterKeySize {
			return nil, fmt.Errorf("a master key must be %d bytes, got %d", MasterKeySize, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		kid := KeyID(key)
		if i == 0 {
			k.current = kid
		}
		k.aeads[kid] = aead
	}
	return k, nil
}

// NewRandomKeyring is a Keyring over a fresh random master key (--dev),
// returned with the key so it can be handed to authzctl.
func NewRandomKeyring() (*Keyring, []byte) {
	key := make([]byte, MasterKeySize)
	rand.Read(key) // never fails (crypto/rand, Go ≥ 1.24)
	k, _ := NewKeyring(key)
	return k, key
}

// AcceptPlaintext makes the Keyring open secrets stored in clear, for
// data written before encryption was turned on. It returns k.
func (k *Keyring) AcceptPlaintext() *Keyring {
	k.plaintext = true
	return k
}

// ID is the key id of the current master key.
func (k *Keyring) ID() string { return k.current }

// IDs are the ids of every master key the Keyring opens, the current one
// first.
func (k *Keyring) IDs() []string {
	ids := []string{k.current}
	for kid := range k.aeads {
		if kid != k.current {
			ids = append(ids, kid)
		}
	}
	slices.Sort(ids[1:])
	return ids
}

// KeyID names a master key without revealing it: the first 8 hex digits
// of its SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// LoadMasterKey reads a master key file: exactly 32 raw bytes, or 64 hex
// digits, or base64 (standard or URL alphabet, padded or not) of 32 bytes;
// surrounding whitespace is ignored for the text forms.
func LoadMasterKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read master key file: %w", err)
	}
	key, err := ParseMasterKey(b)
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return key, nil
}

// ParseMasterKey decodes the content of a master key file (see LoadMasterKey).
func ParseMasterKey(b []byte) ([]byte, error) {
	text := strings.TrimSpace(string(b))
	if len(text) == 2*MasterKeySize {
		if key, err := hex.DecodeString(text); err == nil {
			return key, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(text); err == nil && len(key) == MasterKeySize {
			return key, nil
		}
	}
	if len(b) == MasterKeySize {
		return bytes.Clone(b), nil
	}
	return nil, fmt.Errorf("it holds no %d-byte key: write 32 random bytes, e.g. `head -c 32 /dev/urandom | base64 > master.key`", MasterKeySize)
}

// seal encrypts secret for the key record named by name (the part of the
// record name between the braces) under the current master key.
func (k *Keyring) seal(name, secret string) string {
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(secret)+aead.Overhead())
	rand.Read(nonce)
	out := aead.Seal(nonce, nonce, []byte(secret), aad(name))
	return sealedPrefix + k.current + ":" + base64.RawURLEncoding.EncodeToString(out)
}

// open decrypts a stored secret of the key record named by name; kid is
// the master key it was sealed under ("" for a plaintext value). Errors
// name the record by a hash prefix, never by a format-1 name (an app_key).
func (k *Keyring) open(name, stored string) (secret, kid string, err error) {
	rest, sealed := strings.CutPrefix(stored, sealedPrefix)
	if !sealed {
		if k == nil || k.plaintext {
			return stored, "", nil
		}
		return "", "", fmt.Errorf("the secret of key record %s is stored in clear: encrypt it with `authzctl secrets rotate-master`, or start with --insecure-plaintext-secrets meanwhile", recordLabel(name))
	}
	if k == nil {
		return "", "", fmt.Errorf("key record %s: %w: give --master-key-file", recordLabel(name), ErrNoMasterKey)
	}
	kid, b64, ok := strings.Cut(rest, ":")
	aead := k.aeads[kid]
	if !ok || aead == nil {
		return "", "", fmt.Errorf("the secret of key record %s is sealed under master key %q, which was not given: add it with --old-master-key-file", recordLabel(name), kid)
	}
	raw, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", "", fmt.Errorf("the sealed secret of key record %s is malformed: create a new key for the app", recordLabel(name))
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], aad(name))
	if err != nil {
		return "", "", fmt.Errorf("the sealed secret of key record %s does not open under master key %q (tampered with, or copied from another key): create a new key for the app", recordLabel(name), kid)
	}
	return string(plain), kid, nil
}

// sealSecret is what the store writes for a new secret of the key record
// named name: sealed when it has a Keyring, in clear otherwise
// (--insecure-plaintext-secrets).
func (s *Store) sealSecret(name, secret string) string {
	if s.keyring == nil {
		return secret
	}
	return s.keyring.seal(name, secret)
}

// openSecret is the inverse of sealSecret.
func (s *Store) openSecret(name, stored string) (string, error) {
	secret, _, err := s.keyring.open(name, stored)
	if err != nil {
		return "", openError{err}
	}
	return secret, nil
}

func aad(name string) []byte { return []byte("appauthz:key-secret:" + name) }

// recordLabel names a key record in messages: the first digits of its
// hash, so a format-1 name (an app_key) never reaches an error or a log.
func recordLabel(name string) string {
	if !validHash(name) {
		name = authz.HashAppKey(name)
	}
	return name[:12] + "…"
}
