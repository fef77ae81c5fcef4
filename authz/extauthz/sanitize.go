package extauthz

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// headerSafe makes s safe as a header value and as a proto string field,
// so that building and marshalling a CheckResponse cannot fail: every byte
// that is not UTF-8 and every control character (CR, LF, NUL, DEL, C1…)
// becomes '!', as Envoy itself does for bytes that are not UTF-8. The
// values come from operator data (app names, scopes), which the store
// validates on write; this guards records that bypassed it, such as one
// written straight into Redis. Printable ASCII, the usual case, is
// returned as is without allocating.
func headerSafe(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' { // control, DEL or non-ASCII
			return sanitizeRest(s, i)
		}
	}
	return s
}

// sanitizeRest is headerSafe from byte i on, the first one not printable
// ASCII. Valid printable UTF-8 is still returned as is.
func sanitizeRest(s string, i int) string {
	j := i
	for j < len(s) {
		r, n := utf8.DecodeRuneInString(s[j:])
		if r == utf8.RuneError && n == 1 || unicode.IsControl(r) {
			break
		}
		j += n
	}
	if j == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:j])
	for j < len(s) {
		r, n := utf8.DecodeRuneInString(s[j:])
		if r == utf8.RuneError && n == 1 || unicode.IsControl(r) {
			b.WriteByte('!')
		} else {
			b.WriteString(s[j : j+n])
		}
		j += n
	}
	return b.String()
}

// validNames reports whether every name is UTF-8, as a repeated proto
// string field requires. Names are not rewritten: a changed name would
// remove a different header or parameter than the one meant.
func validNames(names []string) bool {
	for _, n := range names {
		if !utf8.ValidString(n) {
			return false
		}
	}
	return true
}
