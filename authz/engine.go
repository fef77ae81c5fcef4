package authz

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Engine decides Checks. It is safe for concurrent use.
type Engine struct {
	store Store
	now   func() time.Time
	// limitsFailOpen, when set, lets a request pass unlimited when Admit
	// fails and it has no nonce to claim (see WithRateLimitFailOpen).
	limitsFailOpen func(ctx context.Context, id Identity, err error)
}

// EngineOption configures an Engine.
type EngineOption func(*Engine)

// WithClock injects the clock used for grants, key expiry and signature
// windows (tests).
func WithClock(now func() time.Time) EngineOption { return func(e *Engine) { e.now = now } }

// NewEngine returns an Engine over s.
func NewEngine(s Store, opts ...EngineOption) *Engine {
	e := &Engine{store: s, now: time.Now}
	for _, o := range opts {
		o(e)
	}
	return e
}

// attempt carries one Check through its steps (Engine.check drives it).
type attempt struct {
	req   *Request
	query []QueryParam
	creds []*credential
	now   time.Time
	stage string

	api    *API
	lookup LookupResult
	princ  PrincipalResult
}

// Check decides one request. It never returns an allow by accident: every
// path that is not a verified credential with its grant is a deny.
func (e *Engine) Check(ctx context.Context, r *Request) Decision {
	d := e.check(ctx, r)
	if !d.Allow && d.Message == "" {
		d.Message = d.Reason.DefaultMessage()
	}
	return d
}

func (e *Engine) check(ctx context.Context, r *Request) Decision {
	query, err := ParseQuery(r.RawQuery)
	if err != nil {
		return deny(ReasonBadRequest, err.Error())
	}
	c := &attempt{req: r, query: query, now: e.now(), stage: r.Context["stage"]}
	if c.stage == "" {
		c.stage = DefaultStage
	}
	c.creds = detectCredentials(r, query)
	if s, d := xcaHeaderStage(r, c.creds); d != nil {
		return *d
	} else if s != "" {
		c.stage = s
	}

	// Round trip one: the API (or the route table) and every credential.
	apiID := r.Context["api"]
	lq := LookupQuery{APIID: apiID}
	for _, cr := range c.creds {
		switch {
		case cr.bad != "":
		case cr.appKey != "":
			cr.keyHash = HashAppKey(cr.appKey)
			lq.AppKeys = appendUnique(lq.AppKeys, cr.appKey)
		case cr.appCodeHash != "":
			lq.AppCodeHashes = appendUnique(lq.AppCodeHashes, cr.appCodeHash)
		case cr.tokenHash != "":
			lq.TokenHashes = appendUnique(lq.TokenHashes, cr.tokenHash)
		}
	}
	if c.lookup, err = e.store.Lookup(ctx, lq); err != nil {
		return storeDown(err)
	}

	viaRoute := ""
	if apiID != "" {
		if c.api = c.lookup.API; c.api == nil {
			// The caller gets the plain reason; the route's API id and the
			// fix are for the operator (logged as detail).
			d := denyAPI(ReasonUnknownAPI, "", apiID)
			d.Detail = fmt.Sprintf("API %q named by the proxy route is not defined: create it with `authzctl api create --id %s`", apiID, apiID)
			return d
		}
	} else {
		// Matched on the normalized path and host; r.Path stays raw for
		// signatures.
		rt, ok, err := MatchRoute(c.lookup.Routes, r.Host, r.Method, r.Path)
		if err != nil {
			return deny(ReasonBadRequest, err.Error())
		}
		if !ok {
			return deny(ReasonUnknownAPI, "no API route matches this host and path")
		}
		apiID, viaRoute = rt.API, rt.API
	}

	// When the API is known, pick the credential now so a bad one costs no
	// second round trip; otherwise fetch every candidate app with the API.
	var chosen *credential
	var appIDs []string
	if c.api != nil {
		var d *Decision
		if chosen, d = c.choose(); d != nil {
			return *d
		}
		id, d := c.appOf(chosen)
		if d != nil {
			return *d
		}
		appIDs = []string{id}
	} else {
		for _, cr := range c.creds {
			if id, d := c.appOf(cr); d == nil {
				appIDs = appendUnique(appIDs, id)
			}
		}
	}

	// Round trip two: the apps, their grants, and the API found by route.
	if c.princ, err = e.store.Principal(ctx, PrincipalQuery{APIID: viaRoute, AppIDs: appIDs, GrantAPI: apiID, Stage: c.stage, LimitAPI: apiID}); err != nil {
		return storeDown(err)
	}
	if viaRoute != "" {
		if c.api = c.princ.API; c.api == nil {
			d := denyAPI(ReasonUnknownAPI, "", viaRoute)
			d.Detail = fmt.Sprintf("the route table names API %q, which is not defined: create it with `authzctl api create --id %s`", viaRoute, viaRoute)
			return d
		}
		var d *Decision
		if chosen, d = c.choose(); d != nil {
			return *d
		}
		if _, d = c.appOf(chosen); d != nil {
			return *d
		}
	}

	if d := c.xcaStageUsable(chosen); d != nil {
		return *d
	}
	d := c.authenticate(chosen)
	if !d.Allow {
		return d
	}
	return e.admit(ctx, c, chosen, d)
}

// choose picks the first carried credential whose method the API accepts.
func (c *attempt) choose() (*credential, *Decision) {
	queryAppCode := false
	for _, cr := range c.creds {
		if !c.api.Allows(cr.method) {
			continue
		}
		if cr.method == MethodAppCode && !acceptsAppCode(c.api, cr) {
			queryAppCode = queryAppCode || (cr.inQuery && c.api.AppCodeMode != AppCodeDisabled)
			continue
		}
		if cr.bad != "" {
			d := c.denyFor(cr.bad, cr.badMsg, Identity{Method: cr.method})
			return nil, &d
		}
		return cr, nil
	}
	if queryAppCode {
		d := c.denyFor(ReasonAppCodeInQueryNotAllowed, "", Identity{Method: MethodAppCode})
		return nil, &d
	}
	d := c.denyFor(ReasonMissingCredential, fmt.Sprintf("this API accepts %s credentials; none was found in the request", methodList(c.api.Methods)), Identity{})
	return nil, &d
}

// appOf resolves the app id a credential's record names, or the deny for a
// credential that resolves to nothing.
func (c *attempt) appOf(cr *credential) (string, *Decision) {
	var d Decision
	switch {
	case cr.bad != "":
		d = c.denyFor(cr.bad, cr.badMsg, Identity{Method: cr.method})
	case cr.appCodeHash != "":
		if rec := c.lookup.AppCodes[cr.appCodeHash]; rec != nil {
			return rec.AppID, nil
		}
		d = c.denyFor(ReasonInvalidAppCode, "", Identity{Method: cr.method})
	case cr.tokenHash != "":
		if tok := c.lookup.Tokens[cr.tokenHash]; tok != nil {
			return tok.AppID, nil
		}
		d = c.denyFor(ReasonInvalidToken, "", Identity{Method: cr.method})
	default:
		k := c.lookup.Keys[cr.keyHash]
		if k != nil && !expired(k.ExpiresAt, c.now) && k.Allows(cr.method) {
			return k.AppID, nil
		}
		// A key restricted to other methods answers as an unknown one, so
		// a bare app_key seen on the wire does not even confirm it exists;
		// the log (Detail) says why.
		d = c.denyFor(ReasonUnknownAppKey, "", Identity{Method: cr.method})
		if k != nil && !k.Allows(cr.method) {
			d.Detail = fmt.Sprintf("key %s may not be used with method %s (its methods: %s)", k.KeyID, cr.method, methodList(k.Methods))
		}
	}
	return "", &d
}

// authenticate verifies the chosen credential and the app's standing, then
// the API's scope and grant requirements. It returns the allow decision
// with everything the proxy must strip and set.
func (c *attempt) authenticate(cr *credential) Decision {
	id := Identity{Method: cr.method, API: c.api.ID}
	var key *Key
	var status Status
	switch cr.method {
	case MethodAppCode:
		rec := c.lookup.AppCodes[cr.appCodeHash]
		id.AppID, status = rec.AppID, rec.Status
	case MethodOAuth2:
		tok := c.lookup.Tokens[cr.tokenHash]
		id.AppID, id.KeyID, id.Scopes = tok.AppID, tok.KeyID, tok.Scopes
	default:
		key = c.lookup.Keys[cr.keyHash]
		id.AppID, id.KeyID, id.Scopes, status = key.AppID, key.KeyID, key.Scopes, key.Status
	}
	app := c.princ.Apps[id.AppID]
	if app == nil {
		// The credential outlived its app (a partial delete): treat it as
		// unknown rather than trust a record with no owner.
		return c.denyFor(unknownReason(cr.method), "", id)
	}
	id.AppName = app.Name

	// A signature is verified before any status is revealed, so an
	// unauthenticated caller learns nothing about the app.
	if cr.sig != nil {
		if reason, msg := cr.sig.verify(verifyInput{req: c.req, api: c.api, key: key, now: c.now}); reason != ReasonOK {
			return c.denyFor(reason, msg, id)
		}
	}
	if app.Status == StatusDisabled || status == StatusDisabled {
		return c.denyFor(ReasonAppDisabled, "", id)
	}
	if cr.method != MethodAppCode {
		required, ok := c.api.RequiredScopes(c.req.Method)
		if !ok {
			d := c.denyFor(ReasonInsufficientScope, c.api.uncoveredMethodMessage(c.req.Method), id)
			d.Detail = c.api.uncoveredMethodHint()
			return d
		}
		if missing := missingScopes(required, id.Scopes); len(missing) > 0 {
			return c.denyFor(ReasonInsufficientScope, fmt.Sprintf("the credential lacks scope(s) %v required by this API", missing), id)
		}
	}
	if c.api.Access != AccessAuthenticated {
		g := c.princ.Grants[id.AppID]
		if g == nil {
			// The caller gets the plain reason; which grant is missing, and
			// how to add it, is for the operator (logged as detail).
			d := c.denyFor(ReasonNotAuthorized, "", id)
			d.Detail = fmt.Sprintf("app %q has no grant for API %q on stage %s: add one with `authzctl grant add --api %s --app %s --stage %s`", id.AppID, c.api.ID, c.stage, c.api.ID, id.AppID, c.stage)
			return d
		}
		if expired(g.ExpiresAt, c.now) {
			return c.denyFor(ReasonGrantExpired, "", id)
		}
	}
	return c.allow(cr, id)
}

// denyFor is a deny carrying the identity known so far and, on 401s, the
// challenges of the API's methods.
func (c *attempt) denyFor(r Reason, msg string, id Identity) Decision {
	d := deny(r, msg)
	if c.api != nil {
		id.API = c.api.ID
		if r.HTTPStatus() == 401 {
			d.ResponseHeaders = challenges(c.api, r)
		}
		d.ResponseHeaders = append(d.ResponseHeaders, c.xcaDenyHeaders(r, id)...)
	}
	d.Identity = id
	return d
}

func denyAPI(r Reason, msg, api string) Decision {
	d := deny(r, msg)
	d.Identity.API = api
	return d
}

// storeDown is the deny for a store failure. The error travels with it
// (Decision.Err) so the adapter can log and count its cause.
func storeDown(err error) Decision {
	d := deny(ReasonStoreUnavailable, "")
	if DeadlinePassed(err) {
		d.Message = "the credential store did not answer in time; retry later"
	}
	d.Err = err
	return d
}

func unknownReason(m Method) Reason {
	switch m {
	case MethodAppCode:
		return ReasonInvalidAppCode
	case MethodOAuth2:
		return ReasonInvalidToken
	}
	return ReasonUnknownAppKey
}

// expired reports whether a key or grant has ended at now; a record
// without expiry never does, one expired at any instant (the epoch too) has.
func expired(at Expiry, now time.Time) bool { return at.Passed(now) }

func missingScopes(required, have []string) []string {
	var missing []string
	for _, s := range required {
		if !slices.Contains(have, s) {
			missing = append(missing, s)
		}
	}
	return missing
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func methodList(ms []Method) string {
	out := ""
	for i, m := range ms {
		if i > 0 {
			out += ", "
		}
		out += string(m)
	}
	return out
}
