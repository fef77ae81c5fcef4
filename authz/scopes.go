package authz

import (
	"fmt"
	"slices"
	"strings"
)

// AnyMethod is the method-scope rule ("*=scopes") that covers every HTTP
// method no other rule names.
const AnyMethod = "*"

// RequiredScopes are the scopes a key or token must hold to call the API
// with HTTP method m: the API's Scopes plus those of the MethodScopes rule
// for m, or of the "*" rule when no rule names m.
//
// ok is false when the API has method scopes but none covers m: such a
// method is refused (InsufficientScope) rather than let through on Scopes
// alone, so a read-only key cannot PATCH an API whose rules only list
// GET and POST. An API without method scopes requires Scopes for every
// method, as before.
func (a *API) RequiredScopes(m string) (scopes []string, ok bool) {
	if len(a.MethodScopes) == 0 {
		return a.Scopes, true
	}
	extra, ok := a.MethodScopes[strings.ToUpper(m)]
	if !ok {
		extra, ok = a.MethodScopes[AnyMethod]
	}
	if !ok {
		return nil, false
	}
	out := slices.Clone(a.Scopes)
	for _, s := range extra {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, true
}

// uncoveredMethodMessage explains to the caller the refusal of a method no
// method-scope rule covers, naming the methods that are covered; the fix is
// the operator's (uncoveredMethodHint).
func (a *API) uncoveredMethodMessage(m string) string {
	covered := make([]string, 0, len(a.MethodScopes))
	for name := range a.MethodScopes {
		covered = append(covered, name)
	}
	slices.Sort(covered)
	m = strings.ToUpper(m)
	if len(m) > 32 { // the client chose it; the deny body need not echo all of it
		m = m[:32] + "..."
	}
	return fmt.Sprintf("method %s is not allowed on this API: its method scopes cover only %s", m, strings.Join(covered, ", "))
}

// uncoveredMethodHint is the operator's fix for an uncovered method, for
// the log (Decision.Detail).
func (a *API) uncoveredMethodHint() string {
	return fmt.Sprintf("API %s has no method-scope rule for this method: add one, or a '*=' rule for all other methods (authzctl api update %s --method-scopes ...)", a.ID, a.ID)
}

// ParseMethodScopes parses per-method scope rules:
//
//	GET,HEAD=orders:read;POST,PUT,DELETE=orders:write orders:audit
//
// Rules are separated by ';'; each is HTTP methods (comma-separated) '='
// scopes (comma- or space-separated). A method may appear in several
// rules; its scopes add up. The method "*" (AnyMethod) is a fallback for
// every method no other rule names; with rules but no "*", an unnamed
// method is refused (see RequiredScopes). An empty string is no rules.
func ParseMethodScopes(s string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, rule := range strings.Split(s, ";") {
		if strings.TrimSpace(rule) == "" {
			continue
		}
		methods, scopes, ok := strings.Cut(rule, "=")
		if !ok {
			return nil, fmt.Errorf("method scope rule %q has no '=': write METHODS=SCOPES, e.g. GET=orders:read;POST,PUT,DELETE=orders:write", strings.TrimSpace(rule))
		}
		ms, ss := SplitList(strings.ToUpper(methods)), SplitList(scopes)
		if len(ms) == 0 || len(ss) == 0 {
			return nil, fmt.Errorf("method scope rule %q needs at least one method and one scope", strings.TrimSpace(rule))
		}
		for _, m := range ms {
			if !ValidScopeMethod(m) {
				return nil, fmt.Errorf("method scope rule %q: %q is not an HTTP method or %q", strings.TrimSpace(rule), m, AnyMethod)
			}
			for _, sc := range ss {
				if !ValidScope(sc) {
					return nil, fmt.Errorf("method scope rule %q: scope %q holds a character scopes may not (RFC 6749 §3.3)", strings.TrimSpace(rule), sc)
				}
				if !slices.Contains(out[m], sc) {
					out[m] = append(out[m], sc)
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// FormatMethodScopes writes rules as ParseMethodScopes reads them, one
// rule per method, methods sorted.
func FormatMethodScopes(ms map[string][]string) string {
	methods := make([]string, 0, len(ms))
	for m := range ms {
		methods = append(methods, m)
	}
	slices.Sort(methods)
	rules := make([]string, 0, len(methods))
	for _, m := range methods {
		if len(ms[m]) > 0 {
			rules = append(rules, m+"="+strings.Join(ms[m], ","))
		}
	}
	return strings.Join(rules, ";")
}

// ValidScopeMethod reports whether m may name a method-scope rule: an
// upper-case HTTP method (letters only) or AnyMethod.
func ValidScopeMethod(m string) bool {
	if m == AnyMethod {
		return true
	}
	return m != "" && strings.IndexFunc(m, func(c rune) bool { return c < 'A' || c > 'Z' }) < 0
}

// ValidScope reports whether s is an RFC 6749 §3.3 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ). The core, the token endpoint and the CLI
// all check scopes with it.
func ValidScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return true
}
