package authz

import (
	"strings"
)

// HashAppCode is how AppCodes are stored and looked up: only their SHA-256
// ever reaches Redis, so a dump of the store reveals no usable AppCode.
func HashAppCode(code string) string {
	return sha256Hex(code)
}

// detectAppCodeHeader finds `Authorization: APPCODE <code>` (the scheme in
// any letter case, as clients vary).
func detectAppCodeHeader(r *Request) *credential {
	scheme, code := authScheme(r.Header("authorization"))
	if scheme != "appcode" {
		return nil
	}
	if code == "" || strings.ContainsAny(code, " \t,") {
		return badCredential(MethodAppCode, ReasonBadRequest,
			"malformed Authorization header: use `Authorization: APPCODE <code>`", "authorization")
	}
	return &credential{method: MethodAppCode, appCodeHash: HashAppCode(code), headers: []string{"authorization"}}
}

// detectAppCodeQuery finds the AppCode query parameter, whose name is
// case-insensitive (appcode, appCode, APPCODE, ...) as the seed documents.
func detectAppCodeQuery(q []QueryParam) *credential {
	var code string
	found := false
	for _, p := range q {
		if !strings.EqualFold(p.Name, "appcode") {
			continue
		}
		if found && p.Value != code {
			return badCredential(MethodAppCode, ReasonBadRequest, "the AppCode query parameter is given more than once with different values")
		}
		code, found = p.Value, true
	}
	if !found {
		return nil
	}
	if code == "" {
		return badCredential(MethodAppCode, ReasonBadRequest, "the AppCode query parameter is empty")
	}
	return &credential{method: MethodAppCode, appCodeHash: HashAppCode(code), inQuery: true}
}

// acceptsAppCode reports whether api takes this AppCode credential given
// its appcode mode.
func acceptsAppCode(api *API, c *credential) bool {
	switch api.AppCodeMode {
	case AppCodeHeaderQuery:
		return true
	case AppCodeHeader, "":
		return !c.inQuery
	}
	return false // disabled
}
