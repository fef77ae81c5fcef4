package authz

import (
	"slices"
	"strings"
)

// Trusted identity headers set for the upstream on allow (ARCHITECTURE §5).
const (
	HeaderAppID   = "x-appauthz-app-id"
	HeaderAppName = "x-appauthz-app-name"
	HeaderKey     = "x-appauthz-key"
	HeaderMethod  = "x-appauthz-method"
	HeaderAPI     = "x-appauthz-api"
	HeaderScopes  = "x-appauthz-scopes"
	HeaderError   = "x-appauthz-error"
	headerPrefix  = "x-appauthz-"
)

// credentialHeaders are the headers a credential travels in. Every one the
// request carries is removed on allow, whichever credential was used and
// even when it is malformed or of a scheme authzd does not read: a second
// credential (an AppCode beside the X-App-Key that was used) must not
// reach the upstream either.
var credentialHeaders = append([]string{"authorization", "proxy-authorization", "x-app-key"}, xcaCredentialHeaders...)

// allow builds the allow decision: every credential stripped, client-sent
// x-appauthz-* headers removed, trusted identity headers set.
func (c *attempt) allow(cr *credential, id Identity) Decision {
	d := Decision{Allow: true, Reason: ReasonOK, Message: "allowed", Identity: id}
	d.HeadersToSet = identityHeaders(id)
	d.HeadersToRemove = c.headersToRemove(d.HeadersToSet, cr)
	d.QueryToRemove = c.queryToRemove()
	return d
}

// headersToRemove lists, sorted, every client-sent header the upstream
// must not see: those any detected credential came in, every credential
// header, and every x-appauthz-* header. Names are also compared with '_'
// read as '-', because CGI-style upstreams (and some frameworks) fold both
// to the same variable: x_appauthz_app_id would otherwise pass for the
// trusted x-appauthz-app-id, and x_app_key for X-App-Key. Envoy removes by
// exact name, so each spelling is listed as sent.
func (c *attempt) headersToRemove(set []HeaderValue, used *credential) []string {
	isSet := func(name string) bool {
		return slices.ContainsFunc(set, func(h HeaderValue) bool { return h.Name == name })
	}
	var out []string
	for _, cr := range append(slices.Clip(c.creds), used) {
		if cr != nil {
			out = append(out, cr.headers...)
		}
	}
	for name := range c.req.Headers {
		folded := name
		if strings.IndexByte(name, '_') >= 0 {
			folded = strings.ReplaceAll(name, "_", "-")
		}
		if strings.HasPrefix(folded, headerPrefix) || slices.Contains(credentialHeaders, folded) {
			out = append(out, name)
		}
	}
	// Envoy applies removals after mutations, so a header we set must
	// never be listed for removal: the overwrite already replaced it.
	out = slices.DeleteFunc(out, isSet)
	// Sorted, so decisions are deterministic for tests and logs.
	slices.Sort(out)
	return slices.Compact(out)
}

// queryToRemove lists every credential query parameter present (used or
// not) by its raw name: Envoy's query_parameters_to_remove matches the
// undecoded, case-sensitive spelling, so ?app%4Bey=… is removed only if
// listed as app%4Bey. Plain and encoded spellings of one parameter are
// each listed.
func (c *attempt) queryToRemove() []string {
	var out []string
	for _, p := range c.query {
		if IsCredentialParam(p.Name) {
			out = appendUnique(out, p.RawName)
		}
	}
	return out
}

func identityHeaders(id Identity) []HeaderValue {
	h := []HeaderValue{
		{HeaderAppID, id.AppID},
		{HeaderAppName, id.AppName},
		{HeaderMethod, string(id.Method)},
		{HeaderAPI, id.API},
	}
	// The key id, never the app_key: on an API that accepts the key
	// method the app_key is a complete credential.
	if id.KeyID != "" {
		h = append(h, HeaderValue{HeaderKey, id.KeyID})
	}
	if len(id.Scopes) > 0 {
		h = append(h, HeaderValue{HeaderScopes, strings.Join(id.Scopes, " ")})
	}
	return h
}

// challenges are the WWW-Authenticate values of a 401 for the API's
// methods, so a client learns which schemes it may use.
func challenges(api *API, r Reason) []HeaderValue {
	var out []HeaderValue
	for _, m := range api.Methods {
		var v string
		switch m {
		case MethodAppCode:
			if api.AppCodeMode != AppCodeDisabled {
				v = `APPCODE realm="appauthz"`
			}
		case MethodHMAC:
			v = `hmac realm="appauthz", headers="date request-line digest"`
		case MethodOAuth2:
			v = `Bearer realm="appauthz"`
			if r == ReasonInvalidToken {
				v += `, error="invalid_token"`
			}
		}
		if v != "" {
			out = append(out, HeaderValue{"www-authenticate", v})
		}
	}
	return out
}
