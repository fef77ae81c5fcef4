package authz

import (
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits of parameter signatures (the seed's request limits).
const (
	maxSignParams = 100     // signed parameters (all but sign), all places together
	maxJSONBody   = 2 << 20 // a JSON body, envelope or raw
)

// paramSign is a parameter-signature credential: every parameter of the
// request except sign, in request order, with the values it carries.
type paramSign struct {
	params       []QueryParam
	appKey, sign string
	timestamp    int64
	hasTimestamp bool
}

// detectParamSign finds a parameter signature: a sign parameter with
// appKey in the query string, or a form body or JSON envelope that carries
// both. The parameters come from the query and the body together, so
// neither can be changed without the signature noticing.
func detectParamSign(r *Request, q []QueryParam) *credential {
	body, reason, msg := signedBodyParams(r, hasParam(q, "sign"))
	switch {
	case reason != ReasonOK:
		return badCredential(MethodParamSign, reason, msg)
	case !hasParam(q, "sign") && !hasParam(body, "sign"):
		return nil
	}
	// Every query parameter is signed: one with a malformed escape could be
	// read by the upstream otherwise than it was verified (50% and 50%25
	// would sign alike).
	for _, p := range q {
		if p.Malformed {
			return badCredential(MethodParamSign, ReasonBadRequest, fmt.Sprintf("the signed query parameter %q has a malformed %% escape: encode a literal %% as %%25", truncate(p.RawName)))
		}
	}
	all := append(slices.Clip(q), body...)
	p, reason, msg := newParamSign(all)
	if reason != ReasonOK {
		return badCredential(MethodParamSign, reason, msg)
	}
	c := &credential{method: MethodParamSign, appKey: p.appKey, sig: p}
	// Without apiTimestamp a signed URL is the same on every call, by the
	// seed's design: guarding it would refuse every repeat of a request, and
	// only for a while. With a timestamp, a repeat within the window is a
	// replay.
	if p.hasTimestamp {
		c.nonce = signatureNonce("paramsign", p.appKey, p.sign)
	}
	return c
}

// newParamSign checks the parameters' shape: one sign, one appKey, at
// most one integer apiTimestamp, an accepted signMethod, and the count.
func newParamSign(all []QueryParam) (*paramSign, Reason, string) {
	p := &paramSign{params: make([]QueryParam, 0, len(all))}
	var signs, keys, stamps []string
	for _, kv := range all {
		switch kv.Name {
		case "sign":
			signs = append(signs, kv.Value)
			continue // the only parameter not signed
		case "appKey":
			keys = append(keys, kv.Value)
		case "apiTimestamp":
			stamps = append(stamps, kv.Value)
		case "signMethod":
			if m := strings.ToUpper(strings.ReplaceAll(kv.Value, "-", "")); m != "SHA512" {
				return nil, ReasonUnsupportedAlgorithm, fmt.Sprintf("signMethod %q is not supported: parameter signatures use SHA-512 (omit signMethod or send SHA512)", kv.Value)
			}
		}
		p.params = append(p.params, kv)
	}
	switch {
	case len(p.params) > maxSignParams:
		return nil, ReasonBadRequest, fmt.Sprintf("a parameter signature covers at most %d parameters besides sign; this request has %d", maxSignParams, len(p.params))
	case len(signs) == 0:
		return nil, ReasonBadRequest, "the sign parameter is missing"
	case len(signs) > 1:
		return nil, ReasonBadRequest, "sign is given more than once: send one sign, in the query, the form body or the JSON envelope"
	case signs[0] == "":
		return nil, ReasonBadRequest, "the sign parameter is empty"
	case len(keys) == 0:
		return nil, ReasonBadRequest, "sign without appKey: send appKey with the signed parameters"
	case slices.ContainsFunc(keys, func(k string) bool { return k != keys[0] }):
		return nil, ReasonBadRequest, "appKey is given more than once with different values"
	case keys[0] == "":
		return nil, ReasonBadRequest, "the appKey parameter is empty"
	case len(stamps) > 1:
		return nil, ReasonBadRequest, "apiTimestamp is given more than once"
	}
	p.sign, p.appKey = signs[0], keys[0]
	if len(stamps) == 1 {
		ts, err := strconv.ParseInt(stamps[0], 10, 64)
		if err != nil {
			return nil, ReasonBadRequest, fmt.Sprintf("apiTimestamp %q is not an integer: send Unix seconds, e.g. %d", stamps[0], time.Now().Unix())
		}
		p.timestamp, p.hasTimestamp = ts, true
	}
	return p, ReasonOK, ""
}

// verify checks that a declared body arrived, the timestamp window, then
// the signature.
func (p *paramSign) verify(v verifyInput) (Reason, string) {
	if reason, msg := bodyWithheld(v.req); reason != ReasonOK {
		return reason, msg
	}
	if !p.hasTimestamp && v.api.TimestampRequired {
		return ReasonBadRequest, "this API requires apiTimestamp (Unix seconds) among the signed parameters"
	}
	if p.hasTimestamp {
		if reason, msg := p.checkTimestamp(v); reason != ReasonOK {
			return reason, msg
		}
	}
	want := paramSignature(p.params, v.key.Secret)
	if subtle.ConstantTimeCompare([]byte(want), []byte(p.sign)) != 1 {
		return ReasonInvalidSignature, "the parameter signature does not match: sort every parameter but sign by name, join name=value with &, append the app secret, and send the SHA-512 in lowercase hex (see docs/clients.md)"
	}
	return ReasonOK, ""
}

// checkTimestamp checks apiTimestamp against the API's window. A value in
// milliseconds, which some clients send, is named as such.
func (p *paramSign) checkTimestamp(v verifyInput) (Reason, string) {
	skew := signatureSkew(v.api)
	if unixWithinWindow(p.timestamp, v.now, skew) {
		return ReasonOK, ""
	}
	if unixWithinWindow(p.timestamp/1000, v.now, skew) {
		return ReasonClockSkew, fmt.Sprintf("apiTimestamp %d looks like milliseconds: send Unix seconds, e.g. %d", p.timestamp, v.now.Unix())
	}
	return ReasonClockSkew, fmt.Sprintf("apiTimestamp is more than %s away from the server's time: sync the client clock and sign a fresh timestamp", skew)
}

// replayTTL is how long the replay guard keeps this signature's nonce; it
// is asked only once the timestamp passed checkTimestamp.
func (p *paramSign) replayTTL(now time.Time, maxSkew time.Duration) time.Duration {
	if !unixWithinWindow(p.timestamp, now, MaxClockSkew) {
		return replayTTL(time.Time{}, now, maxSkew) // the longest; see replayTTL
	}
	return replayTTL(time.Unix(p.timestamp, 0), now, maxSkew)
}

// paramSignature is the seed's parameter signature: the parameters other
// than sign, sorted by name in byte order (stably, so repeated names keep
// their request order), joined as name=value with & and no encoding, the
// app secret appended, SHA-512 in lowercase hex.
func paramSignature(params []QueryParam, secret string) string {
	h := sha512.New()
	h.Write(paramCanonical(params, secret))
	return hex.EncodeToString(h.Sum(nil))
}

func paramCanonical(params []QueryParam, secret string) []byte {
	sorted := make([]QueryParam, 0, len(params))
	n := len(secret)
	for _, kv := range params {
		if kv.Name != "sign" {
			sorted = append(sorted, kv)
			n += len(kv.Name) + len(kv.Value) + 2
		}
	}
	slices.SortStableFunc(sorted, func(a, b QueryParam) int { return strings.Compare(a.Name, b.Name) })
	buf := make([]byte, 0, n)
	for i, kv := range sorted {
		if i > 0 {
			buf = append(buf, '&')
		}
		buf = append(buf, kv.Name...)
		buf = append(buf, '=')
		buf = append(buf, kv.Value...)
	}
	return append(buf, secret...)
}

func hasParam(ps []QueryParam, name string) bool {
	return slices.ContainsFunc(ps, func(p QueryParam) bool { return p.Name == name })
}
