package authz

import (
	"regexp"
	"strconv"
)

// Alibaba's deny headers, which its SDKs print with the error.
const (
	HeaderXCAErrorMessage = "x-ca-error-message"
	HeaderXCARequestID    = "x-ca-request-id"
)

// maxXCAErrorMessage bounds X-Ca-Error-Message; a server string to sign
// longer than this is cut (it still shows where the mismatch starts).
const maxXCAErrorMessage = 4096

// xcaDenyHeaders are Alibaba's deny headers, added on an API that accepts
// xca when the deny concerns an xca credential or no credential at all.
func (c *attempt) xcaDenyHeaders(r Reason, id Identity) []HeaderValue {
	if c.api == nil || !c.api.Allows(MethodXCA) || (id.Method != "" && id.Method != MethodXCA) {
		return nil
	}
	var p *xcaParams
	for _, cr := range c.creds {
		if cr.xca != nil {
			p = cr.xca
			break
		}
	}
	out := []HeaderValue{{HeaderXCAErrorMessage, xcaErrorMessage(r, p)}}
	if c.req.RequestID != "" {
		out = append(out, HeaderValue{HeaderXCARequestID, headerSafe(c.req.RequestID, 256)})
	}
	return out
}

// xcaErrorMessage is Alibaba's text for a deny: the one recorded by the
// failed xca check, else the gateway's message for the reason.
func xcaErrorMessage(r Reason, p *xcaParams) string {
	if p != nil && r == ReasonInvalidSignature && p.serverSTS != nil {
		// Alibaba's format, which the Node SDK parses; line feeds as #.
		return "Invalid Signature, Server StringToSign:`" + headerSafe(string(p.serverSTS), maxXCAErrorMessage) + "`"
	}
	if p != nil && p.caMsg != "" {
		return p.caMsg
	}
	switch r {
	case ReasonMissingCredential:
		return "Empty Signature"
	case ReasonUnknownAppKey:
		return "Invalid AppKey"
	case ReasonInvalidSignature:
		return "Invalid Signature"
	case ReasonClockSkew:
		return "Timestamp Expired"
	case ReasonDigestMismatch:
		return "Invalid Content-MD5"
	case ReasonReplayedRequest:
		return "Nonce Used"
	case ReasonRateLimited:
		return "Throttled by APP Flow Control"
	case ReasonBadRequest:
		return "Bad Request"
	}
	return "Unauthorized"
}

// headerSafe makes client-influenced text a valid header value of at most
// max bytes: line feeds become '#' (as Alibaba shows them), other bytes
// outside printable ASCII are percent-encoded (a '%' stays, so a raw path
// reads as sent), so the value is valid
// UTF-8 and holds no control character.
func headerSafe(s string, max int) string {
	b := make([]byte, 0, min(len(s), max))
	for i := 0; i < len(s) && len(b) < max; i++ {
		switch c := s[i]; {
		case c == '\n':
			b = append(b, '#')
		case c < 0x20 || c >= 0x7f:
			b = append(b, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
		default:
			b = append(b, c)
		}
	}
	if len(b) >= max {
		b = append(b[:max-len("...")], "..."...)
	}
	return string(b)
}

// stagePattern is what a stage id may hold (as the store's ids).
var stagePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// xcaHeaderStage returns the stage X-Ca-Stage names, when the route sets
// none and the request carries an xca credential; "" otherwise. The
// route's stage wins: there the proxy, not the client, decides which
// upstream (and so which stage) the request reaches, and a client-chosen
// stage would let an app granted only TEST pass on a RELEASE route.
func xcaHeaderStage(r *Request, creds []*credential) (string, *Decision) {
	v, ok := r.Headers[xcaStageHeader]
	if !ok || r.Context["stage"] != "" {
		return "", nil
	}
	carried := false
	for _, cr := range creds {
		carried = carried || cr.method == MethodXCA
	}
	if !carried {
		return "", nil
	}
	if !stagePattern.MatchString(v) {
		d := deny(ReasonBadRequest, "X-Ca-Stage "+strconv.Quote(truncate(v))+" is not a stage name: send RELEASE, PRE or TEST (1 to 128 characters from A-Z a-z 0-9 . _ -)")
		d.Identity.Method = MethodXCA
		return "", &d
	}
	return v, nil
}

// xcaStageUsable refuses a stage taken from X-Ca-Stage when the chosen
// credential is not the xca one: only an xca request may name its stage.
func (c *attempt) xcaStageUsable(chosen *credential) *Decision {
	if chosen == nil || chosen.method == MethodXCA {
		return nil
	}
	if s, _ := xcaHeaderStage(c.req, c.creds); s == "" {
		return nil
	}
	d := c.denyFor(ReasonBadRequest, "X-Ca-Stage names the stage only for a request signed with X-Ca-*: remove the header, or have the route set the stage", Identity{Method: chosen.method})
	return &d
}
