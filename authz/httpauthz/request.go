package httpauthz

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/appauthz/appauthz/authz"
)

// errTooLarge refuses a body over the handler's limit (413 BodyTooLarge).
var errTooLarge = errors.New("the request body is larger than the HTTP authorization endpoint accepts")

// headerMap returns the headers with lowercase names and repeated headers
// joined with "," as Envoy joins them. Host is not among them (net/http
// keeps it in Request.Host, where the core expects it too). Names in drop
// are left out.
func headerMap(h http.Header, drop []string) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		name := strings.ToLower(k)
		if slices.Contains(drop, name) {
			continue
		}
		v := vs[0]
		if len(vs) > 1 {
			v = strings.Join(vs, ",")
		}
		if old, ok := out[name]; ok { // two spellings of one name
			v = old + "," + v
		}
		out[name] = v
	}
	return out
}

// routeContext is the per-route API and stage a trusted proxy names in
// X-Appauthz-Api/Stage (the Context the gRPC path gets from
// context_extensions).
func routeContext(h http.Header) map[string]string {
	api, stage := strings.TrimSpace(h.Get(hAPI)), strings.TrimSpace(h.Get(hStage))
	if api == "" && stage == "" {
		return nil
	}
	ctx := map[string]string{}
	if api != "" {
		ctx["api"] = api
	}
	if stage != "" {
		ctx["stage"] = stage
	}
	return ctx
}

// forwardRequest builds the core's Request for the forward-auth endpoint.
// Only a trusted proxy may call it. The body is never read (no forward-auth
// proxy sends it); X-Original-Content-Length and -Transfer-Encoding, which
// the shipped nginx.conf sets, stand for the original's, so that a
// signature meant to cover a body is refused rather than verified without
// it.
func forwardRequest(r *http.Request, peerTrusted bool, source string) (*authz.Request, error) {
	if !peerTrusted {
		return nil, errUntrusted
	}
	o, err := ParseForwarded(r.Header.Get, r.Host)
	if err != nil {
		return nil, err
	}
	// The auth request's own framing says nothing about the original's,
	// and the partial-body marker is Envoy's to set.
	drop := append(slices.Clip(controlHeaders), "content-length", "transfer-encoding", partialBodyHeader)
	headers := headerMap(r.Header, drop)
	if v := r.Header.Get(hOriginalLength); v != "" {
		headers["content-length"] = v
	} else if v := r.Header.Get("Content-Length"); v != "" {
		headers["content-length"] = v // a proxy that copied the original's
	}
	if v := r.Header.Get(hOriginalEncoding); v != "" {
		headers["transfer-encoding"] = v
	} else if len(r.TransferEncoding) > 0 {
		headers["transfer-encoding"] = strings.Join(r.TransferEncoding, ",")
	}
	path, query := authz.SplitPath(o.URI)
	return &authz.Request{
		Method:   o.Method,
		Host:     o.Host,
		Path:     path,
		RawQuery: query,
		Scheme:   o.Scheme,
		// The client's protocol, which an HMAC request-line names; not the
		// auth request's own (nginx's default proxy_http_version is 1.0).
		Protocol:   originalProtocol(r.Header.Get(hOriginalProtocol)),
		Headers:    headers,
		Context:    routeContext(r.Header),
		RequestID:  headers["x-request-id"],
		SourceAddr: source,
		Time:       time.Now(),
	}, nil
}

// envoyRequest builds the core's Request for Envoy's http_service: the
// original method, the path after the path_prefix (raw, as sent), the
// allowed headers and the body when with_request_body is on. The API comes
// from the route table only: Envoy forwards client headers to the
// http_service, so an X-Appauthz-Api there cannot be told from one the
// client wrote; it stays in the headers, where the core lists it for
// removal like any client-sent x-appauthz-* header.
func envoyRequest(r *http.Request, source string, maxBody int64) (*authz.Request, error) {
	uri := strings.TrimPrefix(originForm(r.RequestURI), EnvoyPrefix)
	if !strings.HasPrefix(uri, "/") {
		return nil, errors.New(`the path after ` + EnvoyPrefix + ` does not start with "/": set path_prefix: ` + EnvoyPrefix + ` on the http_service`)
	}
	headers := headerMap(r.Header, nil)
	if len(r.TransferEncoding) > 0 {
		headers["transfer-encoding"] = strings.Join(r.TransferEncoding, ",")
	}
	body, err := readBody(r, maxBody)
	if err != nil {
		return nil, err
	}
	path, query := authz.SplitPath(uri)
	return &authz.Request{
		Method:   r.Method,
		Host:     r.Host,
		Path:     path,
		RawQuery: query,
		Scheme:   firstListElement(r.Header.Get(hForwardedProto)),
		// Envoy calls the http_service over HTTP/1.1 whatever the client
		// spoke; unknown is read as HTTP/1.1 by the HMAC request-line.
		Protocol:      "",
		Headers:       headers,
		Body:          body,
		BodyTruncated: strings.EqualFold(headers[partialBodyHeader], "true"),
		RequestID:     headers["x-request-id"],
		SourceAddr:    source,
		Time:          time.Now(),
	}, nil
}

// readBody reads at most maxBody bytes; a longer body is errTooLarge.
func readBody(r *http.Request, maxBody int64) ([]byte, error) {
	if r.ContentLength > maxBody {
		return nil, errTooLarge
	}
	if r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
		return nil, nil
	}
	capHint := r.ContentLength
	if capHint < 0 {
		capHint = 512
	}
	buf := make([]byte, 0, capHint+1)
	b, err := readAllInto(buf, io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, errors.New("reading the request body failed: " + err.Error())
	}
	if int64(len(b)) > maxBody {
		return nil, errTooLarge
	}
	return b, nil
}

func readAllInto(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// originForm is the path and query of a request target, raw: an
// absolute-form target ("http://host/p?q", which proxies may send) loses
// its scheme and authority.
func originForm(target string) string {
	if strings.HasPrefix(target, "/") {
		return target
	}
	if i := strings.Index(target, "://"); i >= 0 {
		rest := target[i+3:]
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			if rest[j] == '?' {
				return "/" + rest[j:]
			}
			return rest[j:]
		}
		return "/"
	}
	return target
}

// originalProtocol accepts the protocol a proxy names for the original
// request (nginx: $server_protocol) when it looks like one.
func originalProtocol(v string) string {
	if strings.HasPrefix(v, "HTTP/") && len(v) <= 8 && !hasCTL(v) {
		return v
	}
	return ""
}
