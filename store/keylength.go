package store

import (
	"fmt"
	"slices"

	"github.com/appauthz/appauthz/authz"
)

// MinBareKeyLength is the shortest app_key a key usable with the key
// method may have: there the app_key alone is the credential, so it must
// be as hard to guess as a secret. Generated keys have 32 characters.
const MinBareKeyLength = 16

// validKeyMethods checks a key's method restriction: key methods only
// (an AppCode is not a key), each once.
func validKeyMethods(ms []authz.Method) ([]authz.Method, error) {
	var out []authz.Method
	for _, m := range ms {
		if m == authz.MethodAppCode || !slices.Contains(authz.AllMethods, m) {
			return nil, fmt.Errorf("invalid key method %q: use key, hmac, paramsign, oauth2 or xca", m)
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

// validKeyLength refuses an imported app_key too short for its methods:
// one usable with the key method (no restriction, or key listed) needs
// MinBareKeyLength characters; a signing-only key keeps the id rules.
func validKeyLength(appKey string, methods []authz.Method) error {
	if len(methods) > 0 && !slices.Contains(methods, authz.MethodKey) {
		return nil
	}
	if len(appKey) < MinBareKeyLength {
		return fmt.Errorf("invalid app_key: a key usable with the key method must be at least %d characters long (got %d), since the app_key alone is then the credential; import a longer one, omit --key to generate one, or restrict the key with --methods hmac,paramsign,oauth2", MinBareKeyLength, len(appKey))
	}
	return nil
}
