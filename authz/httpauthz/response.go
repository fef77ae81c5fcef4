package httpauthz

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/appauthz/appauthz/authz"
)

// Response header names of the HTTP mode.
const (
	// HeaderUpstreamURI is the request URI without its credential query
	// parameters, for the proxy to forward instead of the original.
	HeaderUpstreamURI = "X-Appauthz-Upstream-Uri"
	// HeaderToRemove is Envoy http_service's list of request headers to
	// strip before the request goes upstream (comma-separated).
	HeaderToRemove = "X-Envoy-Auth-Headers-To-Remove"
	// HeaderStatus and HeaderDenyBody carry a deny's real status and JSON
	// body to nginx auth_request, which passes only 401 and 403 (any other
	// status becomes a 500) and never the body; see authRequest.
	HeaderStatus   = "X-Appauthz-Status"
	HeaderDenyBody = "X-Appauthz-Deny-Body"
)

// authRequest is how a forward-auth request says its proxy has nginx
// auth_request's limits (X-Appauthz-Auth-Request: on, set by the shipped
// nginx.conf): a deny is then answered 401 or 403 — any other status as
// 403 with the real one in X-Appauthz-Status — and its JSON body is
// repeated in X-Appauthz-Deny-Body, so that the error_page locations of
// nginx.conf can give the client the status and body the gRPC path gives.

// defaultChallenge is the www-authenticate of a 401 whose decision named
// none: RFC 9110 requires a challenge on every 401 (as the gRPC path).
const defaultChallenge = `APPCODE realm="appauthz"`

// denyBody is the JSON body of every denial, as on the gRPC path.
type denyBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeDecision maps d onto the HTTP answer. uri is the original request
// URI, from which the upstream URI is derived on allow.
func writeDecision(w http.ResponseWriter, d authz.Decision, uri string, authRequest bool) {
	if d.Allow {
		writeAllow(w, d, uri)
		return
	}
	writeDeny(w, d, authRequest)
}

func writeAllow(w http.ResponseWriter, d authz.Decision, uri string) {
	h := w.Header()
	for _, v := range d.HeadersToSet {
		h.Set(v.Name, v.Value)
	}
	// As on the gRPC path: a header we set is never listed for removal,
	// since Envoy would strip the trusted value.
	var remove []string
	for _, name := range d.HeadersToRemove {
		if !slices.ContainsFunc(d.HeadersToSet, func(v authz.HeaderValue) bool { return v.Name == name }) && !slices.Contains(remove, name) {
			remove = append(remove, name)
		}
	}
	if len(remove) > 0 {
		h.Set(HeaderToRemove, strings.Join(remove, ","))
	}
	h.Set(HeaderUpstreamURI, escapeBraces(UpstreamURI(uri, d.QueryToRemove)))
	for _, v := range d.ResponseHeaders {
		h.Add(v.Name, v.Value)
	}
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func writeDeny(w http.ResponseWriter, d authz.Decision, authRequest bool) {
	reason := d.Reason
	if reason == "" || reason == authz.ReasonOK {
		reason = authz.ReasonNotAuthorized // a deny without a reason is a core bug; still a deny
	}
	status := d.Status()
	if status < 400 || status > 599 {
		status = reason.HTTPStatus()
	}
	if status < 400 || status > 599 {
		status = http.StatusForbidden
	}
	msg := d.Message
	if msg == "" {
		msg = reason.DefaultMessage()
	}
	body, err := json.Marshal(denyBody{Code: string(reason), Message: msg})
	if err != nil {
		body = []byte(`{"code":"` + string(authz.ReasonBadRequest) + `"}`)
	}
	h := w.Header()
	challenged := false
	for _, v := range d.ResponseHeaders {
		name := strings.ToLower(v.Name)
		if name == authz.HeaderError || name == "content-type" {
			continue // the contract fixes these two
		}
		challenged = challenged || name == "www-authenticate"
		h.Add(v.Name, v.Value)
	}
	if status == http.StatusUnauthorized && !challenged {
		h.Set("Www-Authenticate", defaultChallenge)
	}
	h.Set(authz.HeaderError, string(reason))
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if authRequest {
		h.Set(HeaderStatus, strconv.Itoa(status))
		h.Set(HeaderDenyBody, string(body))
		if status != http.StatusUnauthorized && status != http.StatusForbidden {
			status = http.StatusForbidden
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// escapeBraces percent-encodes '{' and '}', which RFC 3986 allows nowhere
// in a URI but clients can still send. Caddy expands {placeholders} in a
// query it takes from a header value (2.6 does), so a client's
// ?q={env.SECRET} would otherwise reach the upstream expanded. The
// encoded form means the same to any upstream that decodes the URI.
func escapeBraces(uri string) string {
	if !strings.ContainsAny(uri, "{}") {
		return uri
	}
	return strings.NewReplacer("{", "%7B", "}", "%7D").Replace(uri)
}
