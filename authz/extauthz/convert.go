package extauthz

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/appauthz/appauthz/authz"
)

// ErrMalformed is wrapped by every ToRequest error: the CheckRequest lacks
// something any HTTP request has. The server answers it with a BadRequest
// deny; it is never a reason to allow or to fail the RPC.
var ErrMalformed = errors.New("malformed CheckRequest")

// partialBodyHeader is the header Envoy adds when it buffered the body;
// "true" means the body was cut at max_request_bytes.
const partialBodyHeader = "x-envoy-auth-partial-body"

// ToRequest normalizes an Envoy CheckRequest into the core's Request.
//
// Headers come from `headers`, or from `header_map` when `headers` is empty
// (Envoy's encode_raw_headers). The request id is the x-request-id header,
// not attributes.request.http.id (that is Envoy's stream id). The path is
// split from `http.path` without decoding, because signatures are computed
// over the raw form.
func ToRequest(cr *authv3.CheckRequest) (*authz.Request, error) {
	attrs := cr.GetAttributes()
	h := attrs.GetRequest().GetHttp()
	if h == nil {
		return nil, malformed("it has no HTTP request attributes (is the ext_authz filter an HTTP filter?)")
	}
	headers := convertHeaders(h)

	method := firstNonEmpty(h.GetMethod(), headers[":method"])
	if method == "" {
		return nil, malformed("the HTTP method is empty")
	}
	rawPath := firstNonEmpty(h.GetPath(), headers[":path"])
	if rawPath == "" {
		return nil, malformed("the HTTP path is empty")
	}
	path, query := authz.SplitPath(rawPath)
	if !strings.HasPrefix(path, "/") && path != "*" {
		// Envoy always sends origin-form ("/…") or "*"; the path is not
		// echoed because its query may hold a credential.
		return nil, malformed(`the HTTP path does not start with "/"`)
	}

	body := h.GetRawBody()
	if len(body) == 0 && h.GetBody() != "" {
		body = []byte(h.GetBody())
	}

	r := &authz.Request{
		Method:        method,
		Host:          firstNonEmpty(h.GetHost(), headers[":authority"]),
		Path:          path,
		RawQuery:      query,
		Scheme:        firstNonEmpty(h.GetScheme(), headers[":scheme"]),
		Protocol:      h.GetProtocol(),
		Headers:       headers,
		Body:          body,
		BodyTruncated: strings.EqualFold(headers[partialBodyHeader], "true"),
		RequestID:     headers["x-request-id"],
		SourceAddr:    peerAddress(attrs.GetSource().GetAddress()),
	}
	if ext := attrs.GetContextExtensions(); len(ext) > 0 {
		r.Context = make(map[string]string, len(ext))
		for k, v := range ext {
			r.Context[k] = v
		}
	}
	if t := attrs.GetRequest().GetTime(); t != nil && t.IsValid() {
		r.Time = t.AsTime()
	}
	return r, nil
}

func malformed(why string) error { return &malformedError{why: why} }

type malformedError struct{ why string }

func (e *malformedError) Error() string { return "malformed CheckRequest: " + e.why }
func (e *malformedError) Unwrap() error { return ErrMalformed }

// convertHeaders returns the request headers with lowercase names. Envoy
// already lowercases and joins duplicates with "," in `headers`; header_map
// keeps every entry with its raw bytes, so duplicates are joined here the
// same way Envoy would have.
func convertHeaders(h *authv3.AttributeContext_HttpRequest) map[string]string {
	if src := h.GetHeaders(); len(src) > 0 {
		out := make(map[string]string, len(src))
		// Sorted so that two keys differing only in case (never sent by
		// Envoy, but possible from other clients) join deterministically.
		keys := make([]string, 0, len(src))
		for k := range src {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			addJoined(out, strings.ToLower(k), src[k])
		}
		return out
	}
	entries := h.GetHeaderMap().GetHeaders()
	out := make(map[string]string, len(entries))
	for _, hv := range entries {
		v := string(hv.GetRawValue())
		if v == "" {
			v = hv.GetValue()
		}
		addJoined(out, strings.ToLower(hv.GetKey()), v)
	}
	return out
}

func addJoined(m map[string]string, k, v string) {
	if old, ok := m[k]; ok {
		m[k] = old + "," + v
		return
	}
	m[k] = v
}

// peerAddress renders the downstream peer as host:port (or the pipe path).
func peerAddress(a *corev3.Address) string {
	if sa := a.GetSocketAddress(); sa != nil {
		if sa.GetAddress() == "" {
			return ""
		}
		return net.JoinHostPort(sa.GetAddress(), strconv.FormatUint(uint64(sa.GetPortValue()), 10))
	}
	if p := a.GetPipe(); p != nil {
		return p.GetPath()
	}
	return ""
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
