package authz

import (
	"errors"
	"fmt"
	"strings"
)

// Route resolution compares a request with the route table on a canonical
// path and host, so that spellings an upstream reads as the same resource
// (//admin, /x/../admin, /%61dmin, API.example.com.) cannot slip past a
// protected prefix to a weaker catch-all. Normalization serves route
// matching only: signatures are always checked over the path as received.

// ErrUnsafePath marks a path or host authzd refuses to route because it
// cannot tell which API an upstream would serve it as.
var ErrUnsafePath = errors.New("cannot match this request to an API safely")

func unsafePath(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsafePath}, args...)...)
}

// NormalizePath returns the canonical form of a raw request path (without
// its query) for route matching:
//   - every %XX escape is decoded, then each byte is written back the one
//     way RFC 3986 allows it in a segment: unreserved characters,
//     sub-delims, ':' and '@' as themselves, everything else as %XX in
//     upper case (so /%61dmin, /a%3Ab and /caf%c3%a9 become /admin, /a:b
//     and /caf%C3%A9, as an upstream that decodes its path reads them);
//   - empty segments are merged (//admin is /admin; a trailing slash stays);
//   - "." and ".." segments are removed (RFC 3986 §5.2.4), also when
//     spelled %2E.
//
// It refuses, with an error wrapping ErrUnsafePath, what upstreams
// disagree about: an encoded slash (%2F), a backslash (raw or %5C), a
// control character, a malformed escape, an escape encoded twice (%2541),
// and a path that does not start with '/'. A path that is already
// canonical is returned unchanged, without allocating.
func NormalizePath(raw string) (string, error) {
	if raw == "" {
		return "/", nil
	}
	if raw[0] != '/' {
		return "", unsafePath("the path %q does not start with /: send an origin-form path such as /orders", truncate(raw))
	}
	if isCanonicalPath(raw) {
		return raw, nil
	}
	segs := strings.Split(raw[1:], "/")
	out := make([]string, 0, len(segs))
	trailing := false
	for i, seg := range segs {
		last := i == len(segs)-1
		s, err := canonicalSegment(seg)
		if err != nil {
			return "", err
		}
		switch s {
		case "":
			trailing = last && len(out) > 0
		case ".":
			trailing = last && len(out) > 0
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			trailing = last && len(out) > 0
		default:
			out = append(out, s)
			trailing = false
		}
	}
	p := "/" + strings.Join(out, "/")
	if trailing {
		p += "/"
	}
	return p, nil
}

// canonicalSegment decodes one segment and writes it back canonically.
func canonicalSegment(seg string) (string, error) {
	if isCanonicalBytes(seg) {
		return seg, nil
	}
	dec := make([]byte, 0, len(seg))
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c == '%' {
			if i+2 >= len(seg) || !isHex(seg[i+1]) || !isHex(seg[i+2]) {
				return "", unsafePath("the path has a malformed %% escape in %q: encode a literal %% as %%25", truncate(seg))
			}
			c = unhex(seg[i+1])<<4 | unhex(seg[i+2])
			i += 2
			if c == '/' {
				return "", unsafePath("the path contains an encoded slash (%%2F) in %q: upstreams disagree on whether it separates segments; send the path without %%2F", truncate(seg))
			}
		}
		switch {
		case c == '\\':
			return "", unsafePath("the path contains a backslash (\\ or %%5C) in %q, which some servers read as /: send / instead", truncate(seg))
		case c < 0x20 || c == 0x7f:
			return "", unsafePath("the path contains a control character in %q", truncate(seg))
		}
		dec = append(dec, c)
	}
	for i := 0; i+2 < len(dec); i++ {
		if dec[i] == '%' && isHex(dec[i+1]) && isHex(dec[i+2]) {
			return "", unsafePath("the path is percent-encoded twice in %q (%%25 followed by hex digits), which some servers decode again: encode it once", truncate(seg))
		}
	}
	const hexUpper = "0123456789ABCDEF"
	out := make([]byte, 0, len(dec)+8)
	for _, c := range dec {
		if isPchar(c) {
			out = append(out, c)
		} else {
			out = append(out, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return string(out), nil
}

// isCanonicalPath reports whether NormalizePath would return p unchanged
// by its simplest test: no escape, no empty segment but a trailing one, no
// dot segment, and only bytes allowed in a segment as themselves. Most
// real paths pass it.
func isCanonicalPath(p string) bool {
	start := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			if !isPchar(p[i]) {
				return false
			}
			continue
		}
		switch seg := p[start:i]; {
		case seg == "." || seg == "..":
			return false
		case seg == "" && i < len(p):
			return false
		}
		start = i + 1
	}
	return true
}

func isCanonicalBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isPchar(s[i]) {
			return false
		}
	}
	return true
}

// isPchar reports whether c may appear in a path segment as itself
// (RFC 3986 pchar without pct-encoded): unreserved, sub-delims, ':', '@'.
func isPchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0
}

// stripPathParams drops each segment's path parameters (";…"), as Tomcat,
// Jetty and Spring do before routing: /admin;x=1/users is /admin/users to
// them.
func stripPathParams(p string) string {
	if strings.IndexByte(p, ';') < 0 {
		return p
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if j := strings.IndexByte(s, ';'); j >= 0 {
			segs[i] = s[:j]
		}
	}
	return strings.Join(segs, "/")
}

// NormalizeHost returns the host of an :authority for route matching: in
// lower case, without port and without the trailing dot of a fully
// qualified name (API.example.com.:443 is api.example.com). Any port is
// dropped, as route hosts name no port. A malformed authority is refused
// with an error wrapping ErrUnsafePath.
func NormalizeHost(authority string) (string, error) {
	h := strings.TrimSpace(authority)
	port := ""
	if strings.HasPrefix(h, "[") { // an IPv6 literal
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", unsafePath("the host %q is not a valid authority: an IPv6 address needs its closing ]", truncate(authority))
		}
		h, port = h[:end+1], h[end+1:]
		if port != "" && port[0] != ':' {
			return "", unsafePath("the host %q is not a valid authority", truncate(authority))
		}
	} else if strings.Count(h, ":") == 1 {
		i := strings.IndexByte(h, ':')
		h, port = h[:i], h[i:]
	}
	if port != "" {
		for _, c := range port[1:] {
			if c < '0' || c > '9' {
				return "", unsafePath("the host %q has an invalid port", truncate(authority))
			}
		}
	}
	h = strings.TrimSuffix(asciiLower(h), ".")
	if strings.HasSuffix(h, ".") || strings.HasPrefix(h, ".") || strings.Contains(h, "..") {
		return "", unsafePath("the host %q has an empty label", truncate(authority))
	}
	return h, nil
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// truncate keeps error messages short whatever the client sent.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
