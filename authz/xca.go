package authz

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"mime"
	"strconv"
	"strings"
	"time"
)

// xcaAlgorithms maps X-Ca-Signature-Method values to their hash; names
// compare case-insensitively. An absent header means HmacSHA256.
var xcaAlgorithms = map[string]func() hash.Hash{
	"hmacsha256": sha256.New,
	"hmacsha1":   sha1.New,
}

// maxXCANonce bounds X-Ca-Nonce (SDKs send a 36-character UUID).
const maxXCANonce = 128

// xcaParams is an xca credential as the request carries it.
type xcaParams struct {
	appKey       string
	signature    string // base64, as sent
	algorithm    string // as sent; "" is HmacSHA256
	signed       []string
	timestamp    int64 // Unix milliseconds
	hasTimestamp bool
	nonce        string
	query        []QueryParam // the parsed query, all of it signed

	// Set by a failed check, for the X-Ca-Error-Message of the deny: the
	// text Alibaba's gateway sends, which SDKs print, and the server's
	// string to sign on a mismatch.
	caMsg     string
	serverSTS []byte
}

// detectXCA finds an Alibaba Cloud API Gateway signature: X-Ca-Key or
// X-Ca-Signature among the headers. Everything that does not need the
// key's record (the shape of each header) is checked here.
func detectXCA(r *Request, q []QueryParam) *credential {
	key, hasKey := r.Headers[xcaHeaderKey]
	sig, hasSig := r.Headers[xcaHeaderSignature]
	if !hasKey && !hasSig {
		return nil
	}
	var present []string
	for _, h := range xcaCredentialHeaders {
		if _, ok := r.Headers[h]; ok {
			present = append(present, h)
		}
	}
	p := &xcaParams{appKey: key, signature: sig, algorithm: r.Headers[xcaHeaderMethod], nonce: r.Headers[xcaHeaderNonce]}
	bad := func(reason Reason, caMsg, msg string) *credential {
		p.caMsg = caMsg
		c := badCredential(MethodXCA, reason, msg, present...)
		c.xca = p
		return c
	}
	switch {
	case key == "":
		return bad(ReasonMissingCredential, "Empty AppKey", "an X-Ca-Signature needs the app key in X-Ca-Key")
	case sig == "":
		return bad(ReasonMissingCredential, "Empty Signature", "X-Ca-Key needs an X-Ca-Signature: the base64 HMAC of the string to sign (see docs/clients.md)")
	case len(p.nonce) > maxXCANonce:
		return bad(ReasonBadRequest, "Invalid Nonce", fmt.Sprintf("X-Ca-Nonce is longer than %d characters: send a UUID", maxXCANonce))
	}
	if ts, ok := r.Headers[xcaHeaderTimestamp]; ok {
		ms, err := parseXCATimestamp(ts)
		if err != nil {
			return bad(ReasonBadRequest, "Invalid Timestamp", err.Error())
		}
		p.timestamp, p.hasTimestamp = ms, true
	}
	var ok bool
	if p.signed, ok = xcaSignedHeaderList(r.Headers[xcaHeaderSignedHeaders]); !ok {
		return bad(ReasonBadRequest, "Invalid Signature Headers", fmt.Sprintf("X-Ca-Signature-Headers lists more than %d names", maxSignedHeaders))
	}
	// Every query parameter is signed decoded: one with a malformed escape
	// could be read by the upstream otherwise than it was verified.
	for _, kv := range q {
		if kv.Malformed {
			return bad(ReasonBadRequest, "Invalid Url", fmt.Sprintf("the signed query parameter %q has a malformed %% escape: encode a literal %% as %%25", truncate(kv.RawName)))
		}
	}
	p.query = q
	c := &credential{method: MethodXCA, appKey: key, headers: present, sig: p, xca: p}
	// A nonce that is sent is single-use, per app key; without one the
	// timestamp window is the only limit on a replay.
	if p.nonce != "" {
		c.nonce, c.nonceAlways = signatureNonce("xca", key, p.nonce), true
	}
	return c
}

// parseXCATimestamp reads X-Ca-Timestamp: Unix milliseconds, digits only.
func parseXCATimestamp(v string) (int64, error) {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms < 0 || strings.IndexFunc(v, func(c rune) bool { return c < '0' || c > '9' }) >= 0 {
		return 0, fmt.Errorf("X-Ca-Timestamp %q is not an integer: send Unix milliseconds, e.g. %d", truncate(v), time.Unix(1498165956, 0).UnixMilli())
	}
	return ms, nil
}

// verify checks, cheapest first: the algorithm, that the body it must
// cover is there, the API's timestamp and nonce policies, the signature,
// then Content-MD5. The nonce itself is claimed later, with the limits.
func (p *xcaParams) verify(v verifyInput) (Reason, string) {
	q := p.query
	r, api := v.req, v.api
	alg := p.algorithm
	if alg == "" {
		alg = "HmacSHA256"
	}
	newHash := xcaAlgorithms[strings.ToLower(alg)]
	if newHash == nil {
		return p.fail(ReasonUnsupportedAlgorithm, "Invalid Signature Method", fmt.Sprintf("X-Ca-Signature-Method %q is not supported: use HmacSHA256 or HmacSHA1", truncate(alg)))
	}

	ctype, _, _ := mime.ParseMediaType(r.Headers["content-type"])
	isForm := ctype == contentForm
	md5Header, hasMD5 := r.Headers["content-md5"]
	if reason, msg := bodyWithheld(r); reason != ReasonOK {
		return p.fail(reason, "Invalid Request Body", msg)
	}
	if (isForm || hasMD5) && (r.BodyTruncated || len(r.Body) > MaxSignedBody) {
		return p.fail(ReasonBodyTooLarge, "Request Body Too Large", fmt.Sprintf("a signed form body or a body with Content-MD5 must be complete and at most %d bytes", MaxSignedBody))
	}

	if reason, msg := p.checkTimestamp(api, v.now); reason != ReasonOK {
		return reason, msg
	}
	if p.nonce == "" && api.xcaNonceRequired() {
		return p.fail(ReasonBadRequest, "Invalid Nonce", "this API requires X-Ca-Nonce: send a fresh UUID with every request")
	}

	var form []QueryParam
	if isForm && len(r.Body) > 0 {
		fields, err := parsePairs(string(r.Body))
		if err != nil {
			return p.fail(ReasonBadRequest, "Invalid Request Body", err.Error())
		}
		for _, f := range fields {
			if f.Malformed {
				return p.fail(ReasonBadRequest, "Invalid Request Body", fmt.Sprintf("the signed form body field %q has a malformed %% escape: encode a literal %% as %%25", truncate(f.RawName)))
			}
		}
		form = fields
	}

	sts := xcaStringToSign(r, p.signed, q, form)
	mac := hmac.New(newHash, []byte(v.key.Secret))
	mac.Write(sts)
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if subtle.ConstantTimeCompare([]byte(want), []byte(p.signature)) != 1 {
		p.serverSTS = sts
		return p.fail(ReasonInvalidSignature, "", "X-Ca-Signature does not match the request: the server's string to sign is in X-Ca-Error-Message, line feeds shown as # (see docs/clients.md)")
	}

	if hasMD5 {
		if len(r.Body) == 0 {
			return p.fail(ReasonDigestMismatch, "Invalid Content-MD5", "Content-MD5 was sent without a body: send it only with the body it covers")
		}
		sum := md5.Sum(r.Body)
		if subtle.ConstantTimeCompare([]byte(base64.StdEncoding.EncodeToString(sum[:])), []byte(md5Header)) != 1 {
			return p.fail(ReasonDigestMismatch, "Invalid Content-MD5", "Content-MD5 is not the base64 MD5 of the body (base64 of the 16 binary bytes, not hex)")
		}
	}
	return ReasonOK, ""
}

// checkTimestamp applies the API's X-Ca-Timestamp policy.
func (p *xcaParams) checkTimestamp(api *API, now time.Time) (Reason, string) {
	policy := api.xcaTimestampPolicy()
	switch {
	case !p.hasTimestamp && policy == XCATimestampOptional:
		return ReasonOK, ""
	case !p.hasTimestamp && policy == XCATimestampRequiredSigned:
		return p.fail(ReasonMissingSignedHeader, "Invalid Timestamp", "this API requires X-Ca-Timestamp (Unix milliseconds), listed in X-Ca-Signature-Headers")
	case !p.hasTimestamp:
		return p.fail(ReasonBadRequest, "Invalid Timestamp", "this API requires X-Ca-Timestamp (Unix milliseconds)")
	case policy == XCATimestampRequiredSigned && !p.signsTimestamp():
		return p.fail(ReasonMissingSignedHeader, "Invalid Timestamp", "X-Ca-Timestamp must be signed: add it to X-Ca-Signature-Headers (or have the API accept it unsigned with --xca-timestamp required)")
	case !unixMilliWithinWindow(p.timestamp, now, xcaSkew(api)):
		return p.fail(ReasonClockSkew, "Timestamp Expired", fmt.Sprintf("X-Ca-Timestamp is more than %s away from the server's time: sync the client clock and sign a fresh timestamp", xcaSkew(api)))
	}
	return ReasonOK, ""
}

func (p *xcaParams) signsTimestamp() bool {
	for _, h := range p.signed {
		if strings.EqualFold(h, xcaHeaderTimestamp) {
			return true
		}
	}
	return false
}

// fail records Alibaba's message for the deny headers and returns the
// appauthz reason and message.
func (p *xcaParams) fail(r Reason, caMsg, msg string) (Reason, string) {
	p.caMsg = caMsg
	return r, msg
}

// replayTTL is how long the replay guard keeps this request's nonce:
// until no API could accept its timestamp any more (see replayTTL in
// signdate.go); without a timestamp, the longest.
func (p *xcaParams) replayTTL(now time.Time, maxSkew time.Duration) time.Duration {
	if !p.hasTimestamp || !unixMilliWithinWindow(p.timestamp, now, MaxClockSkew) {
		// No date to age out (--xca-timestamp optional): the longest any
		// window may be, whatever the APIs have now.
		return replayTTL(time.Time{}, now, MaxClockSkew)
	}
	return replayTTL(time.UnixMilli(p.timestamp), now, maxSkew)
}
