package authz

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
	"strings"
	"time"
)

// MaxSignedBody is the largest body an HMAC or form parameter signature
// covers (the seed's 10 MB limit, which is also Envoy's max_request_bytes).
const MaxSignedBody = 10 << 20

// hmacHashes maps the algorithm names Kong's hmac-auth accepts, exactly as
// spelled, to their hash.
var hmacHashes = map[string]func() hash.Hash{
	"hmac-sha1":   sha1.New,
	"hmac-sha256": sha256.New,
	"hmac-sha384": sha512.New384,
	"hmac-sha512": sha512.New,
}

// detectHMAC finds `hmac` credentials in Proxy-Authorization (which Kong
// reads first) or Authorization.
func detectHMAC(r *Request) *credential {
	for _, h := range []string{"proxy-authorization", "authorization"} {
		scheme, rest := authScheme(r.Header(h))
		if scheme != "hmac" {
			continue
		}
		p, err := parseHMACParams(rest)
		if err != nil {
			return badCredential(MethodHMAC, ReasonBadRequest, err.Error(), h)
		}
		return &credential{
			method:  MethodHMAC,
			appKey:  p.appKey,
			headers: []string{h},
			sig:     &p,
			nonce:   signatureNonce("hmac", p.appKey, p.rawSig),
		}
	}
	return nil
}

// signatureNonce names an accepted signature in the replay guard. The hash
// keeps the Redis key short whatever the client sent.
func signatureNonce(method, appKey, sig string) string {
	sum := sha256.Sum256([]byte(appKey + "\x00" + sig))
	return method + ":" + hex.EncodeToString(sum[:])
}

// verify checks an HMAC credential against the key's secret. The order is
// cheap checks first, the MAC, then the body digest; every failure names
// what the client must change.
func (p *hmacParams) verify(v verifyInput) (Reason, string) {
	r, api := v.req, v.api
	newHash := hmacHashes[p.algorithm]
	if newHash == nil {
		return ReasonUnsupportedAlgorithm, fmt.Sprintf("algorithm %q is not supported: use one of %s", p.algorithm, strings.Join(allowedHMAC(api), ", "))
	}
	if !slices.Contains(allowedHMAC(api), p.algorithm) {
		return ReasonUnsupportedAlgorithm, fmt.Sprintf("algorithm %q is not allowed for this API: use one of %s", p.algorithm, strings.Join(allowedHMAC(api), ", "))
	}
	if r.BodyTruncated || len(r.Body) > MaxSignedBody {
		return ReasonBodyTooLarge, fmt.Sprintf("an HMAC-signed body must be complete and at most %d bytes", MaxSignedBody)
	}
	if reason, msg := bodyWithheld(r); reason != ReasonOK {
		return reason, msg
	}
	for _, h := range api.EnforceHeaders {
		if !p.signs(h) {
			return ReasonMissingSignedHeader, fmt.Sprintf("this API requires %q among the signed headers: add it to headers=", h)
		}
	}
	if reason, msg := p.checkDate(v); reason != ReasonOK {
		return reason, msg
	}
	digest, hasDigest := r.Headers["digest"]
	if len(r.Body) > 0 {
		if !hasDigest {
			return ReasonDigestMismatch, "a request with a body needs a Digest: SHA-256=<base64 of the body's SHA-256> header, listed in headers="
		}
		if !p.signs("digest") {
			return ReasonDigestMismatch, "the Digest header must be signed: add digest to headers="
		}
	}

	primary, alt := requestLineVersions(r.Protocol)
	mac := hmac.New(newHash, []byte(v.key.Secret))
	for _, version := range []string{primary, alt} {
		if version == "" {
			break
		}
		s, missing := p.signingString(r, version)
		if missing != "" {
			return ReasonMissingSignedHeader, fmt.Sprintf("header %q is listed in headers= but absent from the request", missing)
		}
		mac.Reset()
		mac.Write(s)
		if hmac.Equal(mac.Sum(nil), p.signature) {
			if hasDigest && !digestMatches(digest, r.Body) {
				return ReasonDigestMismatch, "the Digest header is not SHA-256=<base64 of the body's SHA-256> (base64 of the binary hash, not hex)"
			}
			return ReasonOK, ""
		}
	}
	return ReasonInvalidSignature, "the HMAC signature does not match the request: sign the lines of headers=, in order, joined by \\n, with the request-line as sent (see docs/clients.md)"
}

// checkDate checks the date header: X-Date when present, else Date. It
// must be signed, or a fresh unsigned date could revive an old signature.
func (p *hmacParams) checkDate(v verifyInput) (Reason, string) {
	name := "x-date"
	val, ok := v.req.Headers[name]
	if !ok {
		name = "date"
		if val, ok = v.req.Headers[name]; !ok {
			return ReasonMissingSignedHeader, "send a Date (or X-Date) header in GMT and list it in headers="
		}
	}
	if !p.signs(name) {
		return ReasonMissingSignedHeader, fmt.Sprintf("the %s header must be signed: add %s to headers=", name, name)
	}
	t, err := parseSignedDate(val)
	if err != nil {
		return ReasonBadRequest, err.Error()
	}
	if !withinWindow(t, v.now, signatureSkew(v.api)) {
		return ReasonClockSkew, fmt.Sprintf("the %s header is more than %s away from the server's time: sync the client clock and sign a fresh date", name, signatureSkew(v.api))
	}
	p.signedAt = t
	return ReasonOK, ""
}

// replayTTL is how long the replay guard keeps this signature's nonce.
func (p *hmacParams) replayTTL(now time.Time, maxSkew time.Duration) time.Duration {
	return replayTTL(p.signedAt, now, maxSkew)
}

// signingString builds the string the client signed: one line per listed
// name, `name: value` with the name as the client listed it, or the
// request-line; joined by \n. It returns the first listed header that is
// absent instead when there is one.
func (p *hmacParams) signingString(r *Request, version string) (s []byte, missing string) {
	for i, name := range p.headers {
		if i > 0 {
			s = append(s, '\n')
		}
		lower := strings.ToLower(name)
		if lower == "request-line" {
			s = append(s, r.Method...)
			s = append(s, ' ')
			s = append(s, r.Path...)
			if r.RawQuery != "" {
				s = append(s, '?')
				s = append(s, r.RawQuery...)
			}
			s = append(s, ' ')
			s = append(s, version...)
			continue
		}
		val, ok := r.Headers[lower]
		if lower == "host" && r.Host != "" {
			// Envoy carries Host as :authority, never as a header.
			val, ok = r.Host, true
		}
		if !ok {
			return nil, name
		}
		s = append(s, name...)
		s = append(s, ": "...)
		s = append(s, val...)
	}
	return s, ""
}

// requestLineVersions is the HTTP version written in the request-line for
// the protocol Envoy reports, and an alternative also accepted: clients
// hard-code HTTP/1.1 (as the seed's do) even when the request reaches the
// proxy over HTTP/2 or HTTP/3.
func requestLineVersions(protocol string) (primary, alt string) {
	switch strings.ToUpper(protocol) {
	case "HTTP/1.0":
		return "HTTP/1.0", ""
	case "HTTP/2", "HTTP/2.0":
		return "HTTP/2.0", "HTTP/1.1" // Kong writes HTTP/2 so
	case "HTTP/3", "HTTP/3.0":
		return "HTTP/3.0", "HTTP/1.1"
	}
	return "HTTP/1.1", ""
}

// digestMatches reports whether a Digest header (RFC 3230: a list of
// algorithm=base64 pairs) holds the body's SHA-256.
func digestMatches(header string, body []byte) bool {
	sum := sha256.Sum256(body)
	for _, part := range strings.Split(header, ",") {
		alg, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !strings.EqualFold(alg, "SHA-256") {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(val)
		return err == nil && hmac.Equal(got, sum[:])
	}
	return false
}

func allowedHMAC(api *API) []string {
	if len(api.HMACAlgorithms) == 0 {
		return HMACAlgorithms
	}
	return api.HMACAlgorithms
}
