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

// credentialParams are query parameters that carry credentials; every one
// present is removed on allow so no credential reaches the upstream. The
// AppCode is matched in any letter case, as the seed allows any.
var credentialParams = []string{"appKey", "sign", "apiTimestamp", "signMethod"}

// allow builds the allow decision: the credential stripped, client-sent
// x-appauthz-* headers removed, trusted identity headers set.
func (c *check) allow(cr *credential, id Identity) Decision {
	d := Decision{Allow: true, Reason: ReasonOK, Message: "allowed", Identity: id}
	d.HeadersToSet = identityHeaders(id)

	set := make(map[string]bool, len(d.HeadersToSet))
	for _, h := range d.HeadersToSet {
		set[h.Name] = true
	}
	// Envoy applies removals after mutations, so a header we set must
	// never be listed for removal: the overwrite already replaced it.
	for _, h := range cr.headers {
		if !set[h] {
			d.HeadersToRemove = appendUnique(d.HeadersToRemove, h)
		}
	}
	for name := range c.req.Headers {
		if strings.HasPrefix(name, headerPrefix) && !set[name] {
			d.HeadersToRemove = appendUnique(d.HeadersToRemove, name)
		}
	}
	// Sorted later parts keep decisions deterministic for tests and logs.
	slices.Sort(d.HeadersToRemove)

	for _, p := range c.query {
		if strings.EqualFold(p.Name, "appcode") || slices.Contains(credentialParams, p.Name) {
			d.QueryToRemove = appendUnique(d.QueryToRemove, p.Name)
		}
	}
	return d
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
