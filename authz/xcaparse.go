package authz

import (
	"slices"
	"strings"
)

// The X-Ca-* request headers, lowercase as Envoy sends them.
const (
	xcaHeaderKey           = "x-ca-key"
	xcaHeaderSignature     = "x-ca-signature"
	xcaHeaderMethod        = "x-ca-signature-method"
	xcaHeaderSignedHeaders = "x-ca-signature-headers"
	xcaHeaderTimestamp     = "x-ca-timestamp"
	xcaHeaderNonce         = "x-ca-nonce"
	xcaStageHeader         = "x-ca-stage"
)

// xcaCredentialHeaders carry an xca credential; each one the request sends
// is removed on allow. X-Ca-Stage is not a credential and stays.
var xcaCredentialHeaders = []string{
	xcaHeaderKey, xcaHeaderSignature, xcaHeaderMethod,
	xcaHeaderSignedHeaders, xcaHeaderTimestamp, xcaHeaderNonce,
}

// xcaFixedLines are the headers the string to sign always carries on
// lines of their own (after the method), in this order. Listing one in
// X-Ca-Signature-Headers signs nothing more.
var xcaFixedLines = []string{"accept", "content-md5", "content-type", "date"}

// xcaSignedHeaderList parses X-Ca-Signature-Headers: comma-separated
// names, spaces around them ignored, minus the signature headers and the
// fixed lines. Names keep the client's spelling, because that spelling is
// what the client signed (the Java, Python and PHP demos list X-Ca-Key,
// the Node SDK x-ca-key); they are sorted in byte order, exact duplicates
// dropped. ok is false when the list is longer than maxSignedHeaders.
func xcaSignedHeaderList(v string) (names []string, ok bool) {
	for _, n := range strings.Split(v, ",") {
		n = strings.TrimSpace(n)
		if n == "" || xcaUnsignable(n) {
			continue
		}
		names = append(names, n)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	return names, len(names) <= maxSignedHeaders
}

// xcaUnsignable reports whether a listed name is left out of the signed
// header lines.
func xcaUnsignable(name string) bool {
	if strings.EqualFold(name, xcaHeaderSignature) || strings.EqualFold(name, xcaHeaderSignedHeaders) {
		return true
	}
	return slices.ContainsFunc(xcaFixedLines, func(f string) bool { return strings.EqualFold(f, name) })
}

// xcaStringToSign builds the string an xca client signs:
//
//	METHOD\nAccept\nContent-MD5\nContent-Type\nDate\n
//	name:value\n   (one per signed header, names as listed)
//	PathAndParameters
//
// with no final newline. Header values are looked up case-insensitively
// (Envoy lower-cases names); a listed header the request lacks signs as
// "name:". form holds the fields of a form body (nil otherwise).
func xcaStringToSign(r *Request, signed []string, query, form []QueryParam) []byte {
	n := len(r.Method) + len(r.Path) + 16
	for _, h := range xcaFixedLines {
		n += len(r.Headers[h]) + 1
	}
	b := make([]byte, 0, n+64*len(signed))
	b = append(b, r.Method...)
	b = append(b, '\n')
	for _, h := range xcaFixedLines {
		b = append(b, r.Headers[h]...)
		b = append(b, '\n')
	}
	for _, name := range signed {
		b = append(b, name...)
		b = append(b, ':')
		b = append(b, xcaHeaderValue(r, name)...)
		b = append(b, '\n')
	}
	return appendPathAndParameters(b, r.Path, query, form)
}

// xcaHeaderValue is the value of a listed header, "" when absent.
func xcaHeaderValue(r *Request, name string) string {
	lower := strings.ToLower(name)
	if lower == "host" && r.Host != "" {
		return r.Host // Envoy carries Host as :authority
	}
	return r.Headers[lower]
}

// appendPathAndParameters appends the path exactly as sent, then, when
// there are parameters, '?' and key=value pairs joined by '&', sorted by
// key in byte order. Parameters are the query's and the form body's,
// decoded; for a key given more than once the first value counts, and a
// form value wins over a query value. An empty value signs the key alone,
// and a parameter with an empty name is left out (as the Java demo does).
func appendPathAndParameters(b []byte, path string, query, form []QueryParam) []byte {
	b = append(b, path...)
	if len(query)+len(form) == 0 {
		return b
	}
	params := make(map[string]string, len(query)+len(form))
	first := func(ps []QueryParam, into map[string]string) {
		for _, p := range ps {
			if _, seen := into[p.Name]; p.Name != "" && !seen {
				into[p.Name] = p.Value
			}
		}
	}
	first(query, params)
	if len(form) > 0 {
		fields := make(map[string]string, len(form))
		first(form, fields)
		for k, v := range fields {
			params[k] = v
		}
	}
	if len(params) == 0 {
		return b
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i == 0 {
			b = append(b, '?')
		} else {
			b = append(b, '&')
		}
		b = append(b, k...)
		if v := params[k]; v != "" {
			b = append(b, '=')
			b = append(b, v...)
		}
	}
	return b
}
