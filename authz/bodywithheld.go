package authz

import (
	"strconv"
	"strings"
)

// partialBodyHeader is the header Envoy adds to a Check when it buffered
// the request body (and drops when a client sends it).
const partialBodyHeader = "x-envoy-auth-partial-body"

// bodyWithheld refuses a signed request that declares a body the proxy
// did not send. Without with_request_body on the ext_authz filter Envoy
// checks the headers alone, so a signature would be verified without the
// body it is meant to cover (the HMAC Digest, form or JSON parameters)
// and the upstream would receive a body nobody checked. Every signature
// method calls it from its verify.
//
// A body is declared by a Content-Length above zero (a malformed one
// counts, to fail closed) or by Transfer-Encoding. A chunked body that was
// truly empty is told apart by partialBodyHeader: Envoy buffered it.
func bodyWithheld(r *Request) (Reason, string) {
	if len(r.Body) > 0 {
		return ReasonOK, ""
	}
	declared := ""
	if cl, ok := r.Headers["content-length"]; ok {
		n, err := strconv.ParseUint(strings.TrimSpace(cl), 10, 64)
		switch {
		case err != nil:
			declared = "a malformed Content-Length"
		case n > 0:
			declared = "Content-Length: " + strconv.FormatUint(n, 10)
		}
	}
	if _, ok := r.Headers["transfer-encoding"]; ok && declared == "" {
		if _, buffered := r.Headers[partialBodyHeader]; !buffered {
			declared = "Transfer-Encoding"
		}
	}
	if declared == "" {
		return ReasonOK, ""
	}
	// The message names no client-sent text, only what the proxy must do.
	// nginx auth_request and forward auth (Caddy, Traefik) can never send
	// the body, so the message names both ways out.
	return ReasonBadRequest, "the request declares a body (" + declared + ") but the proxy sent none to check the signature against: on Envoy enable with_request_body (with pack_as_bytes: true) on the ext_authz filter; nginx auth_request and Caddy/Traefik forward auth never send the body, so route signed requests with a body through Envoy or use a method that does not sign it"
}
