package store

import (
	"fmt"
	"strings"

	"github.com/appauthz/appauthz/authz"
)

// cleanMethodScopes validates an API's per-method scopes for writing:
// upper-case HTTP methods or "*", scopes that survive the stored form
// ("GET=a,b;POST=c"), no empty rules.
func cleanMethodScopes(ms map[string][]string) (map[string][]string, error) {
	out := map[string][]string{}
	for m, scopes := range ms {
		method := strings.ToUpper(strings.TrimSpace(m))
		if !authz.ValidScopeMethod(method) {
			return nil, fmt.Errorf("invalid HTTP method %q in method scopes: use e.g. GET or POST, or %q for every method no other rule names", m, authz.AnyMethod)
		}
		clean, err := cleanList("scope", scopes, nil)
		if err != nil {
			return nil, err
		}
		for _, s := range clean {
			if strings.ContainsAny(s, ";=") {
				return nil, fmt.Errorf("invalid scope %q in method scopes: ';' and '=' separate rules", s)
			}
		}
		if len(clean) > 0 {
			out[method] = append(out[method], clean...)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	// Parse(Format(x)) merges a method given twice in different cases.
	return authz.ParseMethodScopes(authz.FormatMethodScopes(out))
}
