package sign

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Param is one name=value parameter, decoded.
type Param struct{ Name, Value string }

// Canonical is the string a parameter signature covers, before the app
// secret is appended: every parameter but sign, sorted by name in byte
// order (stably: repeated names keep their order), joined as name=value
// with & and no encoding.
func Canonical(params []Param) string {
	sorted := slices.DeleteFunc(slices.Clone(params), func(p Param) bool { return p.Name == "sign" })
	slices.SortStableFunc(sorted, func(a, b Param) int { return strings.Compare(a.Name, b.Name) })
	var b strings.Builder
	for i, p := range sorted {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.Name)
		b.WriteByte('=')
		b.WriteString(p.Value)
	}
	return b.String()
}

// ParamSignature is the sign value: SHA-512 of Canonical(params) followed
// by the app secret, in lowercase hex.
func ParamSignature(params []Param, secret string) string {
	sum := sha512.Sum512([]byte(Canonical(params) + secret))
	return hex.EncodeToString(sum[:])
}

// Placement says where appKey, apiTimestamp and sign travel.
type Placement int

const (
	// InQuery appends them to the query string. It works with every
	// request, and the body (form or JSON) reaches the upstream untouched:
	// the recommended placement.
	InQuery Placement = iota
	// InBody appends them to a form body, or wraps a JSON payload in the
	// seed's envelope {"data": "<payload>", "appKey", "apiTimestamp", "sign"}.
	InBody
)

// Body kinds a parameter signature can cover.
const (
	ContentForm = "application/x-www-form-urlencoded"
	ContentJSON = "application/json"
)

// Params signs requests with one app key.
type Params struct {
	Key, Secret string
	// Timestamp, when set, is sent and signed as apiTimestamp (Unix
	// seconds), which bounds the signature's life to the API's window.
	Timestamp time.Time
}

// ParamRequest is the request to sign.
type ParamRequest struct {
	// URL is absolute or a path, with its query as it will be sent.
	URL         string
	ContentType string // of Body
	Body        []byte
}

// SignedParams is what to send.
type SignedParams struct {
	URL  string
	Body []byte // the body to send (changed only by InBody)
	Sign string
	// Canonical is the signed string without the secret, for debugging.
	Canonical string
}

// Sign signs r, every query parameter and body parameter included.
func (p Params) Sign(r ParamRequest, where Placement) (SignedParams, error) {
	if p.Key == "" || p.Secret == "" {
		return SignedParams{}, fmt.Errorf("a parameter signature needs an app key and its secret")
	}
	base, rawQuery, _ := strings.Cut(r.URL, "?")
	rawQuery, _, _ = strings.Cut(rawQuery, "#")
	base, _, _ = strings.Cut(base, "#")
	params, err := decodeParams(rawQuery, "query string")
	if err != nil {
		return SignedParams{}, err
	}

	kind := ""
	if len(r.Body) > 0 {
		kind, _, _ = mime.ParseMediaType(r.ContentType)
		if kind != ContentForm && kind != ContentJSON {
			return SignedParams{}, fmt.Errorf("a parameter signature covers only %s and %s bodies; set the content type (got %q)", ContentForm, ContentJSON, r.ContentType)
		}
	}
	if where == InBody && kind == "" {
		return SignedParams{}, fmt.Errorf("signing in the body needs a %s or %s body", ContentForm, ContentJSON)
	}
	if where == InBody && kind == ContentJSON && !utf8.Valid(r.Body) {
		// A JSON string cannot hold it: the envelope would carry U+FFFD.
		return SignedParams{}, fmt.Errorf("the JSON envelope can carry only a UTF-8 payload: sign in the query instead")
	}
	switch kind {
	case ContentForm:
		fields, err := decodeParams(string(r.Body), "form body")
		if err != nil {
			return SignedParams{}, err
		}
		params = append(params, fields...)
	case ContentJSON:
		params = append(params, Param{"data", string(r.Body)})
	}

	added := []Param{{"appKey", p.Key}}
	if !p.Timestamp.IsZero() {
		added = append(added, Param{"apiTimestamp", strconv.FormatInt(p.Timestamp.Unix(), 10)})
	}
	params = append(params, added...)
	out := SignedParams{URL: r.URL, Body: r.Body, Canonical: Canonical(params), Sign: ParamSignature(params, p.Secret)}
	added = append(added, Param{"sign", out.Sign})

	switch {
	case where == InQuery:
		out.URL = base + "?" + joinQuery(rawQuery, added)
	case kind == ContentForm:
		out.Body = []byte(joinQuery(string(r.Body), added))
	default: // the JSON envelope
		var b bytes.Buffer
		b.WriteString(`{"data":`)
		data, _ := json.Marshal(string(r.Body))
		b.Write(data)
		for _, a := range added {
			name, _ := json.Marshal(a.Name)
			b.WriteByte(',')
			b.Write(name)
			b.WriteByte(':')
			if a.Name == "apiTimestamp" {
				b.WriteString(a.Value) // a JSON number, as the seed sends it
				continue
			}
			v, _ := json.Marshal(a.Value)
			b.Write(v)
		}
		b.WriteByte('}')
		out.Body = b.Bytes()
	}
	return out, nil
}

// SignURL signs a request without a body, in its query string.
func (p Params) SignURL(rawURL string) (string, error) {
	s, err := p.Sign(ParamRequest{URL: rawURL}, InQuery)
	return s.URL, err
}

// decodeParams decodes a query or form body as the server does ('+' is a
// space), refusing the parameters the signer adds.
func decodeParams(raw, where string) ([]Param, error) {
	var out []Param
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		n, v, _ := strings.Cut(pair, "=")
		name, err1 := url.QueryUnescape(n)
		value, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("the %s is not valid URL encoding near %q", where, pair)
		}
		switch name {
		case "appKey", "sign", "apiTimestamp":
			return nil, fmt.Errorf("the %s already carries %s: leave it out, the signer adds it", where, name)
		}
		out = append(out, Param{name, value})
	}
	return out, nil
}

func joinQuery(raw string, add []Param) string {
	var b strings.Builder
	b.WriteString(raw)
	for _, a := range add {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(a.Name) + "=" + url.QueryEscape(a.Value))
	}
	return b.String()
}
