package extauthz

import (
	"context"
	"errors"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/appauthz/appauthz/authz"
)

// ErrMalformed is wrapped by a ToRequest error when the CheckRequest lacks
// something any HTTP request has. The server answers it with a BadRequest
// deny; it is never a reason to allow or to fail the RPC.
var ErrMalformed = errors.New("malformed CheckRequest")

// partialBodyHeader is the header Envoy adds when it buffered the body;
// "true" means the body was cut at max_request_bytes.
const partialBodyHeader = "x-envoy-auth-partial-body"

// ToRequest is ToRequestContext with no deadline and DefaultLimits.
func ToRequest(cr *authv3.CheckRequest) (*authz.Request, error) {
	return ToRequestContext(context.Background(), cr, DefaultLimits())
}

// ToRequestContext normalizes an Envoy CheckRequest into the core's Request.
//
// Headers come from `headers`, or from `header_map` when `headers` is empty
// (Envoy's encode_raw_headers). The request id is the x-request-id header,
// not attributes.request.http.id (that is Envoy's stream id). The path is
// split from `http.path` without decoding, because signatures are computed
// over the raw form.
//
// The work is linear in the size of the CheckRequest and bounded by lim
// (zero fields mean the defaults). Its errors wrap ErrMalformed (the
// request lacks something every HTTP request has), ErrTooLarge (over lim)
// or ctx's error (the caller has given up; checked before and during the
// conversion, so an abandoned Check stops costing CPU).
func ToRequestContext(ctx context.Context, cr *authv3.CheckRequest, lim Limits) (*authz.Request, error) {
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	lim = lim.withDefaults()
	attrs := cr.GetAttributes()
	h := attrs.GetRequest().GetHttp()
	if h == nil {
		return nil, malformed("it has no HTTP request attributes (is the ext_authz filter an HTTP filter?)")
	}
	if n := len(h.GetPath()); n > lim.MaxHeaderBytes {
		return nil, pathTooLong(n, lim)
	}
	headers, err := convertHeaders(ctx, h, lim)
	if err != nil {
		return nil, err
	}

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
		if len(ext) > lim.MaxHeaders { // Envoy sends a handful
			return nil, tooManyExtensions(len(ext), lim)
		}
		r.Context = maps.Clone(ext)
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
// same way Envoy would have. The limits are checked before any copying.
func convertHeaders(ctx context.Context, h *authv3.AttributeContext_HttpRequest, lim Limits) (map[string]string, error) {
	if src := h.GetHeaders(); len(src) > 0 {
		return fromHeaders(ctx, src, lim)
	}
	return fromHeaderMap(ctx, h.GetHeaderMap().GetHeaders(), lim)
}

func fromHeaders(ctx context.Context, src map[string]string, lim Limits) (map[string]string, error) {
	if len(src) > lim.MaxHeaders {
		return nil, tooManyHeaders(len(src), lim)
	}
	size, lower := 0, true
	for k, v := range src {
		size += len(k) + len(v)
		lower = lower && strings.ToLower(k) == k // no allocation for lowercase ASCII
	}
	if size > lim.MaxHeaderBytes {
		return nil, tooManyHeaderBytes(size, lim)
	}
	if lower { // what Envoy sends: nothing to join
		return maps.Clone(src), nil
	}
	// Sorted so that two keys differing only in case (never sent by Envoy,
	// but possible from other clients) join deterministically.
	keys := slices.Sorted(maps.Keys(src))
	return joinHeaders(ctx, len(keys), func(i int) (string, string) {
		return strings.ToLower(keys[i]), src[keys[i]]
	})
}

func fromHeaderMap(ctx context.Context, entries []*corev3.HeaderValue, lim Limits) (map[string]string, error) {
	if len(entries) > lim.MaxHeaders {
		return nil, tooManyHeaders(len(entries), lim)
	}
	size := 0
	for _, hv := range entries {
		size += len(hv.GetKey()) + headerValueLen(hv)
	}
	if size > lim.MaxHeaderBytes {
		return nil, tooManyHeaderBytes(size, lim)
	}
	return joinHeaders(ctx, len(entries), func(i int) (string, string) {
		return strings.ToLower(entries[i].GetKey()), headerValue(entries[i])
	})
}

// headerValue is the raw bytes of a header_map entry, or its value when
// the sender filled only that.
func headerValue(hv *corev3.HeaderValue) string {
	if v := hv.GetRawValue(); len(v) > 0 {
		return string(v)
	}
	return hv.GetValue()
}

func headerValueLen(hv *corev3.HeaderValue) int {
	if v := hv.GetRawValue(); len(v) > 0 {
		return len(v)
	}
	return len(hv.GetValue())
}

// joinHeaders builds the header map from n (name, value) pairs in order,
// joining the values of a repeated name with "," as Envoy does. Repeats are
// collected and joined once at the end, so n repeats of one name cost
// O(total bytes), not the O(n²) of joining as they come.
func joinHeaders(ctx context.Context, n int, at func(int) (string, string)) (map[string]string, error) {
	out := make(map[string]string, n)
	var repeats map[string][]string
	for i := range n {
		if i%ctxCheckEvery == ctxCheckEvery-1 {
			if err := checkCtx(ctx); err != nil {
				return nil, err
			}
		}
		k, v := at(i)
		first, seen := out[k]
		if !seen {
			out[k] = v
			continue
		}
		if repeats == nil {
			repeats = make(map[string][]string)
		}
		if vs, ok := repeats[k]; ok {
			repeats[k] = append(vs, v)
		} else {
			repeats[k] = []string{first, v}
		}
	}
	for k, vs := range repeats {
		out[k] = strings.Join(vs, ",")
	}
	return out, nil
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
