package extauthz

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"golang.org/x/net/http/httpguts"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// HTTPRequest is a client's HTTP request as it reaches Envoy.
type HTTPRequest struct {
	Method string
	// URL is absolute (http://host[:port]/path?query). The path and query
	// are kept byte for byte as written: Envoy does not decode them either.
	URL string
	// Header names may be in any case. A Host header overrides the URL's
	// host as :authority, as it does in net/http.
	Header http.Header
	// Body is the buffered body. Empty means a headers-only request (a GET):
	// Envoy then sends no body fields and no x-envoy-auth-partial-body.
	Body []byte
	// Protocol is "HTTP/1.0", "HTTP/1.1" (default), "HTTP/2" or "HTTP/3".
	Protocol string
	// ContextExtensions are the route's check_settings.context_extensions
	// ("api", "stage").
	ContextExtensions map[string]string
	// SourceAddr is the downstream peer, "ip:port" (default 127.0.0.1 on a
	// random port).
	SourceAddr string
	// Now is when the request arrived (default time.Now()).
	Now time.Time
	// RawHeaders builds header_map instead of headers, like Envoy with
	// encode_raw_headers: true.
	RawHeaders bool
}

// NewCheckRequest builds the CheckRequest Envoy's ext_authz HTTP filter
// sends for r, following ENVOY-FACTS §1 (Envoy's CheckRequestUtils) with
// the envoy.yaml of this repo (with_request_body, pack_as_bytes):
//   - header keys are lowercase; :authority, :method, :path (with the
//     query) and :scheme are among the headers; there is no host key;
//   - repeated headers are joined with "," (no space); values that are not
//     UTF-8 have each bad byte replaced by "!" (raw mode keeps the bytes);
//   - x-request-id and x-forwarded-proto are added when absent, as Envoy's
//     connection manager does before the filter chain;
//   - http.id is a decimal stream id, not x-request-id;
//   - with a body: raw_body, size = len(body), content-length and
//     x-envoy-auth-partial-body: "false"; without one, none of them.
//
// It does not apply Envoy's path normalization (normalize_path,
// merge_slashes): the path is sent as written.
func NewCheckRequest(r HTTPRequest) (*authv3.CheckRequest, error) {
	if r.Method == "" || !httpguts.ValidHeaderFieldName(r.Method) {
		return nil, fmt.Errorf("invalid HTTP method %q: use e.g. GET or POST", r.Method)
	}
	scheme, authority, target, err := splitURL(r.URL)
	if err != nil {
		return nil, err
	}
	protocol := r.Protocol
	if protocol == "" {
		protocol = "HTTP/1.1"
	}
	if !slices.Contains([]string{"HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/3"}, protocol) {
		return nil, fmt.Errorf("invalid protocol %q: use HTTP/1.0, HTTP/1.1, HTTP/2 or HTTP/3", protocol)
	}
	source, err := sourceAddress(r.SourceAddr)
	if err != nil {
		return nil, err
	}
	now := r.Now
	if now.IsZero() {
		now = time.Now()
	}

	// Client headers, lowercase, in a stable order.
	type entry struct{ k, v string }
	var client []entry
	names := make([]string, 0, len(r.Header))
	for name := range r.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		k := strings.ToLower(name)
		if !httpguts.ValidHeaderFieldName(k) {
			return nil, fmt.Errorf("invalid header name %q: Envoy would reject the request", name)
		}
		for _, v := range r.Header[name] {
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, fmt.Errorf("invalid value for header %q (control characters): Envoy would reject the request", name)
			}
			switch k {
			case "host":
				authority = v // HTTP/1 Host is :authority inside Envoy
				continue
			case partialBodyHeader:
				continue // Envoy always drops a client-sent one
			}
			client = append(client, entry{k, v})
		}
	}
	has := func(k string) bool {
		return slices.ContainsFunc(client, func(e entry) bool { return e.k == k })
	}

	all := []entry{
		{":authority", authority},
		{":method", r.Method},
		{":path", target},
		{":scheme", scheme},
	}
	all = append(all, client...)
	if !has("x-forwarded-proto") {
		all = append(all, entry{"x-forwarded-proto", scheme})
	}
	if !has("x-request-id") {
		all = append(all, entry{"x-request-id", newUUID()})
	}
	if len(r.Body) > 0 {
		if !has("content-length") {
			all = append(all, entry{"content-length", strconv.Itoa(len(r.Body))})
		}
		all = append(all, entry{partialBodyHeader, "false"})
	}

	h := &authv3.AttributeContext_HttpRequest{
		Id:       strconv.FormatUint(mrand.Uint64(), 10),
		Method:   r.Method,
		Path:     target,
		Host:     authority,
		Scheme:   scheme,
		Protocol: protocol,
	}
	if r.RawHeaders {
		hm := &corev3.HeaderMap{}
		for _, e := range all {
			hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: e.k, RawValue: []byte(e.v)})
		}
		h.HeaderMap = hm
	} else {
		h.Headers, _ = joinHeaders(context.Background(), len(all), func(i int) (string, string) {
			return all[i].k, sanitizeUTF8(all[i].v)
		})
	}
	if len(r.Body) > 0 {
		h.RawBody = slices.Clone(r.Body)
		h.Size = int64(len(r.Body))
	}

	var ext map[string]string
	if len(r.ContextExtensions) > 0 {
		ext = make(map[string]string, len(r.ContextExtensions))
		for k, v := range r.ContextExtensions {
			ext[k] = v
		}
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: source},
		Request: &authv3.AttributeContext_Request{
			Time: timestamppb.New(now),
			Http: h,
		},
		ContextExtensions: ext,
	}}, nil
}

// splitURL returns the scheme, the authority and the request target
// (path?query, exactly as written, without the fragment).
func splitURL(raw string) (scheme, authority, target string, err error) {
	u, perr := url.Parse(raw)
	if perr != nil {
		var ue *url.Error
		if errors.As(perr, &ue) {
			perr = ue.Err
		}
		return "", "", "", fmt.Errorf("invalid URL %q: %v", raw, perr)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", "", fmt.Errorf("invalid URL %q: give an absolute http:// or https:// URL, e.g. http://localhost/demo", raw)
	}
	rest := raw[strings.Index(raw, "://")+3:]
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		target = rest[i:]
	}
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target = target[:i] // clients never send the fragment
	}
	switch {
	case target == "":
		target = "/"
	case target[0] == '?':
		target = "/" + target
	}
	return u.Scheme, u.Host, target, nil
}

func sourceAddress(addr string) (*corev3.Address, error) {
	host, port := "127.0.0.1", uint32(32768+mrand.IntN(28000))
	if addr != "" {
		h, p, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("invalid source address %q: use ip:port", addr)
		}
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("invalid source address %q: the port must be 0-65535", addr)
		}
		host, port = h, uint32(n)
	}
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address:       host,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}, nil
}

// sanitizeUTF8 replaces every byte that is not part of valid UTF-8 with
// "!", as Envoy does for the headers map (proto strings must be UTF-8).
func sanitizeUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteByte('!')
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// newUUID is a random (v4) UUID, the form of Envoy's x-request-id.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents it)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
