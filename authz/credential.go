package authz

import (
	"strings"
	"time"
)

// credential is one credential the request carries, found before anything
// is fetched so that every record the Check needs can be read in one round
// trip. Detection is a pure function of the request.
type credential struct {
	method Method

	// What to look up; exactly one is set for a well-formed credential.
	appKey      string // key, hmac, paramsign
	keyHash     string // HashAppKey(appKey), set by the engine for the lookup
	appCodeHash string // appcode
	tokenHash   string // oauth2

	inQuery bool // an AppCode from the query string (mode header-query only)

	// bad is set when the credential is present but malformed: the Check
	// answers it with this reason if the API accepts the method.
	bad    Reason
	badMsg string

	// headers that carried the credential, removed on allow.
	headers []string

	// sig checks a signature against the key's secret; nil for methods
	// whose proof is the credential itself.
	sig verifier
	// nonce, when set, is claimed in the replay guard after everything
	// else passed (signature methods), for sig.replayTTL(now, maxSkew).
	nonce string
	// nonceAlways claims the nonce even on an API without replay
	// protection: a client-chosen X-Ca-Nonce is single-use by definition.
	nonceAlways bool

	// xca is the parsed xca credential, for Alibaba's deny headers.
	xca *xcaParams
}

// verifier is a signature method's proof, parsed from the request:
// hmacParams, paramSign and xcaParams implement it.
type verifier interface {
	// verify checks the signature against the key's secret and returns
	// ReasonOK or a reason with a message.
	verify(v verifyInput) (Reason, string)
	// replayTTL is how long the replay guard keeps the nonce: it depends
	// on the signed date, which verify reads, and on the widest window of
	// any API (maxSkew; see replayTTL in signdate.go).
	replayTTL(now time.Time, maxSkew time.Duration) time.Duration
}

// verifyInput is what a signature check needs.
type verifyInput struct {
	req *Request
	api *API
	key *Key
	now time.Time
}

// detectCredentials lists every credential the request carries, most
// specific first: an explicit Authorization scheme, then signed parameters,
// then an AppCode in the query, then a bare app key. The API's method list
// later picks the first one it accepts.
func detectCredentials(r *Request, q []QueryParam) []*credential {
	var out []*credential
	if c := detectHMAC(r); c != nil {
		out = append(out, c)
	}
	if c := detectXCA(r, q); c != nil {
		out = append(out, c)
	}
	if c := detectBearer(r); c != nil {
		out = append(out, c)
	}
	if c := detectAppCodeHeader(r); c != nil {
		out = append(out, c)
	}
	if c := detectParamSign(r, q); c != nil {
		out = append(out, c)
	}
	if c := detectAppCodeQuery(q); c != nil {
		out = append(out, c)
	}
	if c := detectAppKey(r, q); c != nil {
		out = append(out, c)
	}
	return out
}

// authScheme splits an Authorization value into its scheme (lowercased)
// and the rest, trimmed.
func authScheme(v string) (scheme, rest string) {
	v = strings.TrimSpace(v)
	i := strings.IndexAny(v, " \t")
	if i < 0 {
		return strings.ToLower(v), ""
	}
	return strings.ToLower(v[:i]), strings.TrimSpace(v[i+1:])
}

// badCredential is a credential of method m that is present but malformed.
func badCredential(m Method, r Reason, msg string, headers ...string) *credential {
	return &credential{method: m, bad: r, badMsg: msg, headers: headers}
}

// The signature methods' proofs.
var (
	_ verifier = (*hmacParams)(nil)
	_ verifier = (*paramSign)(nil)
	_ verifier = (*xcaParams)(nil)
)
