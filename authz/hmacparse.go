package authz

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// hmacUsage ends every parse error, so a client sees the expected shape.
const hmacUsage = `; use hmac appkey="<app_key>", algorithm="hmac-sha256", headers="date request-line digest", signature="<base64>"`

// maxSignedHeaders bounds the headers= list; no real client signs more.
const maxSignedHeaders = 64

// hmacParams are the parameters of an `Authorization: hmac …` header.
type hmacParams struct {
	appKey    string
	algorithm string
	headers   []string  // as listed by the client, in order
	signature []byte    // decoded
	rawSig    string    // as sent, for the replay nonce
	signedAt  time.Time // the signed date, once verify has read it
}

// parseHMACParams parses what follows the `hmac` scheme word: a
// comma-separated list of name="value" pairs (names case-insensitive,
// optional spaces after commas, values double-quoted, in any order).
// username= is Kong's name for appkey=. Every shape it does not accept is
// an error whose text tells the client what to send instead.
func parseHMACParams(s string) (hmacParams, error) {
	var p hmacParams
	seen := map[string]bool{}
	for i := 0; ; {
		i = skipSpace(s, i)
		if i == len(s) {
			if len(seen) == 0 {
				return p, errors.New("malformed hmac Authorization header: no parameters" + hmacUsage)
			}
			break
		}
		// name
		j := i
		for j < len(s) && isTokenChar(s[j]) {
			j++
		}
		if j == i || j == len(s) || s[j] != '=' {
			return p, fmt.Errorf("malformed hmac Authorization header: expected name=\"value\" at offset %d%s", i, hmacUsage)
		}
		name := strings.ToLower(s[i:j])
		j++
		if j == len(s) || s[j] != '"' {
			return p, fmt.Errorf("malformed hmac Authorization header: the value of %s must be double-quoted%s", name, hmacUsage)
		}
		end := strings.IndexByte(s[j+1:], '"')
		if end < 0 {
			return p, fmt.Errorf("malformed hmac Authorization header: unterminated quoted value of %s%s", name, hmacUsage)
		}
		value := s[j+1 : j+1+end]
		i = j + 1 + end + 1

		key := name
		if key == "username" {
			key = "appkey"
		}
		if seen[key] {
			return p, fmt.Errorf("malformed hmac Authorization header: %s given more than once (username is an alias of appkey)%s", name, hmacUsage)
		}
		seen[key] = true
		switch key {
		case "appkey":
			p.appKey = value
		case "algorithm":
			p.algorithm = value
		case "headers":
			p.headers = strings.Fields(value)
		case "signature":
			p.rawSig = value
		default:
			return p, fmt.Errorf("malformed hmac Authorization header: unknown parameter %q%s", name, hmacUsage)
		}

		i = skipSpace(s, i)
		if i == len(s) {
			break
		}
		if s[i] != ',' {
			return p, fmt.Errorf("malformed hmac Authorization header: expected ',' after %s%s", name, hmacUsage)
		}
		i++
		if skipSpace(s, i) == len(s) {
			return p, errors.New("malformed hmac Authorization header: trailing ','" + hmacUsage)
		}
	}

	switch {
	case p.appKey == "":
		return p, errors.New("malformed hmac Authorization header: appkey (or username) is missing or empty" + hmacUsage)
	case p.algorithm == "":
		return p, errors.New("malformed hmac Authorization header: algorithm is missing or empty" + hmacUsage)
	case len(p.headers) == 0:
		// Kong does not default it, and neither do we: an empty list
		// would sign nothing about the request.
		return p, errors.New("malformed hmac Authorization header: headers is missing or empty; list what was signed" + hmacUsage)
	case len(p.headers) > maxSignedHeaders:
		return p, fmt.Errorf("malformed hmac Authorization header: headers lists %d names, at most %d are accepted", len(p.headers), maxSignedHeaders)
	case p.rawSig == "":
		return p, errors.New("malformed hmac Authorization header: signature is missing or empty" + hmacUsage)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(p.rawSig)
	if err != nil {
		return p, errors.New("malformed hmac Authorization header: signature is not standard base64 (A-Z a-z 0-9 + / with = padding)")
	}
	p.signature = sig
	return p, nil
}

// signs reports whether name is among the signed headers (names compare
// case-insensitively, as header names do).
func (p *hmacParams) signs(name string) bool {
	for _, h := range p.headers {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// isTokenChar is RFC 9110's tchar.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
