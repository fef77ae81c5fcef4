package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
)

// Body kinds a parameter signature can cover.
const (
	contentForm = "application/x-www-form-urlencoded"
	contentJSON = "application/json"
)

// signedBodyParams returns the parameters the body contributes to a
// parameter signature:
//   - a form body: its decoded fields;
//   - a JSON body when sign is in the query: the raw body as parameter
//     data (the recommended form: the upstream gets the payload untouched);
//   - a JSON body otherwise: the seed's envelope, whose top-level members
//     are the parameters (numbers as their literal text).
//
// Without sign in the query, a body is a signature only when it carries
// both appKey and sign, as every signer sends them: payloads are the
// client's own data, and a field that merely is (or contains) "sign" —
// {"sign":"leo"}, designer=… — must not turn a request authenticated
// otherwise into a BadRequest. A body that is no signature contributes
// nothing; it is an error only when the request is evidently signed and
// the body would go unsigned or cannot be read.
func signedBodyParams(r *Request, signInQuery bool) ([]QueryParam, Reason, string) {
	if len(r.Body) == 0 && !r.BodyTruncated {
		return nil, ReasonOK, ""
	}
	ctype, _, _ := mime.ParseMediaType(r.Header("content-type"))
	switch ctype {
	case contentForm:
		// Only the names are scanned for an unsigned-looking form, so
		// ordinary form posts cost one pass and no allocations.
		if !signInQuery && !formIsSigned(r.Body) {
			return nil, ReasonOK, ""
		}
		if r.BodyTruncated || len(r.Body) > MaxSignedBody {
			return nil, ReasonBodyTooLarge, fmt.Sprintf("a signed form body must be complete and at most %d bytes", MaxSignedBody)
		}
		if n := countPairs(r.Body); n > maxSignParams+1 {
			// Refused before decoding: a 10 MiB body of tiny fields would
			// otherwise cost millions of allocations.
			return nil, ReasonBadRequest, fmt.Sprintf("a parameter signature covers at most %d parameters besides sign; the form body has %d", maxSignParams, n)
		}
		fields, err := parsePairs(string(r.Body))
		if err != nil {
			return nil, ReasonBadRequest, err.Error()
		}
		// Every field is signed: one whose decoding is ambiguous could be
		// read differently by the upstream than it was verified.
		for _, f := range fields {
			if f.Malformed {
				return nil, ReasonBadRequest, fmt.Sprintf("the signed form body field %q has a malformed %% escape: encode a literal %% as %%25", truncate(f.RawName))
			}
		}
		return fields, ReasonOK, ""
	case contentJSON:
		if !signInQuery && !(bytes.Contains(r.Body, []byte(`"sign"`)) && bytes.Contains(r.Body, []byte(`"appKey"`))) {
			return nil, ReasonOK, ""
		}
		if r.BodyTruncated || len(r.Body) > maxJSONBody {
			return nil, ReasonBodyTooLarge, fmt.Sprintf("a signed JSON body must be complete and at most %d bytes", maxJSONBody)
		}
		if signInQuery {
			return []QueryParam{{Name: "data", Value: string(r.Body)}}, ReasonOK, ""
		}
		members, err := jsonMembers(r.Body)
		if err != nil || !hasParam(members, "sign") || !hasParam(members, "appKey") {
			// Not an envelope (an array, a payload that merely mentions
			// "sign" and "appKey"): no parameter signature here.
			return nil, ReasonOK, ""
		}
		params, err := envelopeParams(members)
		if err != nil {
			return nil, ReasonBadRequest, err.Error()
		}
		return params, ReasonOK, ""
	}
	if signInQuery {
		return nil, ReasonBadRequest, fmt.Sprintf("a parameter-signed request with a body must send it as %s or %s, so that the body is signed; got content type %q", contentForm, contentJSON, r.Header("content-type"))
	}
	return nil, ReasonOK, ""
}

// formIsSigned reports whether a form body has both an appKey and a sign
// field (names decoded, as the upstream will read them). It scans the body
// once and decodes only names that hold an escape.
func formIsSigned(body []byte) bool {
	var appKey, sign bool
	for len(body) > 0 && !(appKey && sign) {
		pair := body
		if i := bytes.IndexByte(body, '&'); i >= 0 {
			pair, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		name := pair
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			name = pair[:i]
		}
		if len(name) > len("appKey")*3 {
			continue // too long to decode to either name
		}
		if bytes.ContainsAny(name, "%+") {
			n, _ := lenientUnescape(string(name))
			name = []byte(n)
		}
		appKey = appKey || string(name) == "appKey"
		sign = sign || string(name) == "sign"
	}
	return appKey && sign
}

// jsonMembers reads a JSON object's top-level members in order, values
// raw.
func jsonMembers(body []byte) ([]QueryParam, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var out []QueryParam
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		out = append(out, QueryParam{Name: name, Value: string(raw)})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return out, nil
}

// envelopeParams turns raw envelope members into parameters: strings
// decoded, numbers and booleans as their literal text. Duplicate names are
// refused: JSON parsers disagree on which one wins, and the upstream might
// read the one that was not checked.
func envelopeParams(members []QueryParam) ([]QueryParam, error) {
	out := make([]QueryParam, len(members))
	seen := make(map[string]bool, len(members))
	for i, m := range members {
		if seen[m.Name] {
			return nil, fmt.Errorf("the JSON envelope has member %q twice: send each parameter once", m.Name)
		}
		seen[m.Name] = true
		v := m.Value
		switch {
		case strings.HasPrefix(v, `"`):
			var s string
			if err := json.Unmarshal([]byte(v), &s); err != nil {
				return nil, fmt.Errorf("the JSON envelope member %q is not a valid string", m.Name)
			}
			v = s
		case v == "true" || v == "false" || strings.IndexAny(v[:1], "-0123456789") == 0:
		default:
			return nil, fmt.Errorf("the JSON envelope member %q must be a string or a number; send the payload as the string member data, or better, send it as is with appKey and sign in the query string", m.Name)
		}
		out[i] = QueryParam{Name: m.Name, Value: v}
	}
	return out, nil
}
