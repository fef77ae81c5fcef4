package sign

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// XCA signs requests the way Alibaba Cloud API Gateway's SDKs do
// (X-Ca-Key, X-Ca-Signature, ...), for the xca method.
type XCA struct {
	Key, Secret string
	// Algorithm is HmacSHA256 (the default, "") or HmacSHA1.
	Algorithm string
	// SignHeaders are further headers to sign, named as they will be
	// listed in X-Ca-Signature-Headers. X-Ca-Key, X-Ca-Timestamp,
	// X-Ca-Nonce and X-Ca-Signature-Method (when sent) are always signed.
	SignHeaders []string
	// Nonce is X-Ca-Nonce; "" sends a random UUID unless NoNonce is set.
	Nonce   string
	NoNonce bool
	// Stage, when set, is sent as X-Ca-Stage (not signed, as the SDKs do).
	Stage string
	// Now is the signing time; zero is time.Now().
	Now time.Time
}

// XCARequest is the request to sign.
type XCARequest struct {
	Method string
	// RequestURI is the path and query exactly as they will be sent.
	RequestURI string
	// Header holds the other headers the request sends (Accept,
	// Content-Type, Date, and any listed in SignHeaders).
	Header http.Header
	Body   []byte
}

// XCAHeaders is the outcome of Sign.
type XCAHeaders struct {
	// Header holds the headers to add, X-Ca-Signature last.
	Header [][2]string
	// StringToSign is what was signed, for comparing with the server's
	// (X-Ca-Error-Message shows it with line feeds as #). It holds no
	// secret.
	StringToSign string
}

// Apply sets the headers on h.
func (x XCAHeaders) Apply(h http.Header) {
	for _, kv := range x.Header {
		h.Set(kv[0], kv[1])
	}
}

// Sign computes the X-Ca-* headers (and Content-MD5 for a body that is
// not a form, as the SDKs send it) of r.
func (s XCA) Sign(r XCARequest) (XCAHeaders, error) {
	var newHash func() hash.Hash
	switch strings.ToLower(s.Algorithm) {
	case "", "hmacsha256":
		newHash = sha256.New
	case "hmacsha1":
		newHash = sha1.New
	default:
		return XCAHeaders{}, fmt.Errorf("unknown algorithm %q: use HmacSHA256 or HmacSHA1", s.Algorithm)
	}
	if s.Key == "" || s.Secret == "" {
		return XCAHeaders{}, fmt.Errorf("an xca signature needs an app key and its secret")
	}
	if strings.ContainsAny(s.Key, "\r\n") {
		return XCAHeaders{}, fmt.Errorf("the app key must not contain line breaks")
	}
	path, rawQuery, _ := strings.Cut(r.RequestURI, "?")
	query, err := decodePairs(rawQuery)
	if err != nil {
		return XCAHeaders{}, fmt.Errorf("query: %w", err)
	}
	hdr := r.Header.Clone()
	if hdr == nil {
		hdr = http.Header{}
	}
	var added [][2]string
	add := func(name, value string) {
		hdr.Set(name, value)
		added = append(added, [2]string{name, value})
	}

	var form []Param
	ctype, _, _ := mime.ParseMediaType(hdr.Get("Content-Type"))
	switch {
	case ctype == ContentForm:
		if form, err = decodePairs(string(r.Body)); err != nil {
			return XCAHeaders{}, fmt.Errorf("form body: %w", err)
		}
	case len(r.Body) > 0 && hdr.Get("Content-MD5") == "":
		add("Content-MD5", ContentMD5(r.Body))
	}

	now := s.Now
	if now.IsZero() {
		now = time.Now()
	}
	add("X-Ca-Key", s.Key)
	add("X-Ca-Timestamp", strconv.FormatInt(now.UnixMilli(), 10))
	signed := []string{"X-Ca-Key", "X-Ca-Timestamp"}
	if !s.NoNonce {
		nonce := s.Nonce
		if nonce == "" {
			nonce = uuid4()
		}
		add("X-Ca-Nonce", nonce)
		signed = append(signed, "X-Ca-Nonce")
	}
	if s.Algorithm != "" {
		add("X-Ca-Signature-Method", s.Algorithm)
		signed = append(signed, "X-Ca-Signature-Method")
	}
	if s.Stage != "" {
		add("X-Ca-Stage", s.Stage)
	}
	for _, n := range s.SignHeaders {
		// The fixed lines and the signature headers are never listed.
		fixed := slices.ContainsFunc([]string{"Accept", "Content-MD5", "Content-Type", "Date", "X-Ca-Signature", "X-Ca-Signature-Headers"}, func(x string) bool { return strings.EqualFold(x, n) })
		if !fixed && !slices.ContainsFunc(signed, func(x string) bool { return strings.EqualFold(x, n) }) {
			signed = append(signed, n)
		}
	}
	slices.Sort(signed)
	add("X-Ca-Signature-Headers", strings.Join(signed, ","))

	var b strings.Builder
	b.WriteString(r.Method + "\n")
	for _, h := range []string{"Accept", "Content-MD5", "Content-Type", "Date"} {
		b.WriteString(hdr.Get(h) + "\n")
	}
	for _, n := range signed {
		b.WriteString(n + ":" + strings.Join(hdr.Values(n), ",") + "\n")
	}
	b.WriteString(PathAndParameters(path, query, form))
	sts := b.String()
	mac := hmac.New(newHash, []byte(s.Secret))
	io.WriteString(mac, sts)
	add("X-Ca-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return XCAHeaders{Header: added, StringToSign: sts}, nil
}

// PathAndParameters is the last part of an xca string to sign: the path
// as sent, then '?' and the query and form parameters sorted by name in
// byte order, name=value joined by '&' (the name alone for an empty
// value). For a name given more than once the first value counts, and a
// form value wins over a query value.
func PathAndParameters(path string, query, form []Param) string {
	params := map[string]string{}
	first := func(ps []Param, into map[string]string) {
		for _, p := range ps {
			if _, ok := into[p.Name]; p.Name != "" && !ok {
				into[p.Name] = p.Value
			}
		}
	}
	first(query, params)
	fields := map[string]string{}
	first(form, fields)
	for k, v := range fields {
		params[k] = v
	}
	if len(params) == 0 {
		return path
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(path)
	for i, k := range keys {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(k)
		if v := params[k]; v != "" {
			b.WriteString("=" + v)
		}
	}
	return b.String()
}

// ContentMD5 is the Content-MD5 value of body: standard base64 of the
// binary MD5.
func ContentMD5(body []byte) string {
	sum := md5.Sum(body)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// decodePairs splits a query string or form body into decoded pairs
// ('+' is a space, then %XX), in order.
func decodePairs(raw string) ([]Param, error) {
	var out []Param
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		n, err := url.QueryUnescape(name)
		if err != nil {
			return nil, fmt.Errorf("%q has a malformed %% escape: encode a literal %% as %%25", name)
		}
		v, err := url.QueryUnescape(value)
		if err != nil {
			return nil, fmt.Errorf("the value of %q has a malformed %% escape: encode a literal %% as %%25", name)
		}
		out = append(out, Param{n, v})
	}
	return out, nil
}

// uuid4 is a random (version 4) UUID, the form SDKs send as X-Ca-Nonce.
func uuid4() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
