package authz

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Method is an authentication method, named as in `--methods`.
type Method string

// The auth methods of the contract (ARCHITECTURE.md §4).
const (
	MethodAppCode   Method = "appcode"
	MethodKey       Method = "key"
	MethodHMAC      Method = "hmac"
	MethodParamSign Method = "paramsign"
	MethodOAuth2    Method = "oauth2"
	MethodXCA       Method = "xca" // Alibaba Cloud API Gateway signatures (X-Ca-*)
)

// AllMethods in the order the CLI documents them.
var AllMethods = []Method{MethodAppCode, MethodKey, MethodHMAC, MethodParamSign, MethodOAuth2, MethodXCA}

// ParseMethods parses a comma-separated method list such as "appcode,key".
func ParseMethods(s string) ([]Method, error) {
	var out []Method
	for _, part := range SplitList(s) {
		m := Method(strings.ToLower(part))
		if !slices.Contains(AllMethods, m) {
			return nil, fmt.Errorf("unknown auth method %q: use one or more of appcode, key, hmac, paramsign, oauth2, xca", part)
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no auth method given: use one or more of appcode, key, hmac, paramsign, oauth2, xca")
	}
	return out, nil
}

// AppCodeMode says where an API accepts the AppCode.
type AppCodeMode string

// AppCode modes, as in the seed's console options.
const (
	AppCodeHeader      AppCodeMode = "header"       // Authorization: APPCODE <code> only
	AppCodeHeaderQuery AppCodeMode = "header-query" // header, or AppCode query parameter
	AppCodeDisabled    AppCodeMode = "disabled"     // AppCodes are ignored
)

// ParseAppCodeMode validates a mode name.
func ParseAppCodeMode(s string) (AppCodeMode, error) {
	switch m := AppCodeMode(strings.ToLower(s)); m {
	case AppCodeHeader, AppCodeHeaderQuery, AppCodeDisabled:
		return m, nil
	}
	return "", fmt.Errorf("unknown appcode mode %q: use header, header-query or disabled", s)
}

// Access is the access condition of an API.
type Access string

// Access conditions, as in the seed's "consumer access condition".
const (
	AccessAuthenticated Access = "authenticated" // a valid credential is enough
	AccessAuthorized    Access = "authorized"    // the app also needs a grant for the stage
)

// ParseAccess validates an access condition.
func ParseAccess(s string) (Access, error) {
	switch a := Access(strings.ToLower(s)); a {
	case AccessAuthenticated, AccessAuthorized:
		return a, nil
	}
	return "", fmt.Errorf("unknown access condition %q: use authenticated or authorized", s)
}

// DefaultStage is the stage when the route names none.
const DefaultStage = "RELEASE"

// DefaultClockSkew is the signature time window when the API sets none.
const DefaultClockSkew = 300 * time.Second

// HMACAlgorithms are the algorithms Kong's hmac-auth accepts, the default
// allowlist of every API.
var HMACAlgorithms = []string{"hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"}

// API is one protected API and how it authenticates callers.
type API struct {
	ID          string
	Methods     []Method
	AppCodeMode AppCodeMode
	Access      Access
	ClockSkew   time.Duration
	// Scopes a key or token must hold to call the API.
	Scopes []string
	// MethodScopes are scopes required in addition to Scopes for one HTTP
	// method (upper case), e.g. GET → orders:read (see RequiredScopes).
	MethodScopes map[string][]string
	// HMACAlgorithms is the allowlist for hmac; empty means all four.
	HMACAlgorithms []string
	// EnforceHeaders must all be among an HMAC signature's signed headers.
	EnforceHeaders []string
	// ReplayProtection turns the signature replay guard on (the default).
	ReplayProtection bool
	// TimestampRequired makes apiTimestamp mandatory for paramsign.
	TimestampRequired bool
	// XCATimestamp and XCANonce are what xca requires of X-Ca-Timestamp
	// and X-Ca-Nonce; "" means the defaults (see xcapolicy.go).
	XCATimestamp XCATimestampPolicy
	XCANonce     XCANoncePolicy
	Route        Route
	// Limits apply to each app separately unless the app has its own.
	Limits Limits
}

// Allows reports whether the API accepts method m.
func (a *API) Allows(m Method) bool { return slices.Contains(a.Methods, m) }

// Route places an API in the route table used when the proxy names no API.
type Route struct {
	API        string
	Host       string   // exact host, "*.example.com", or "" for any
	PathPrefix string   // "" or "/" matches every path
	Methods    []string // HTTP methods; empty means all
}

// Status of an app, key or AppCode.
type Status string

// Statuses. A revoked key is deleted, so it has no status of its own.
const (
	StatusActive   Status = "active"
	StatusDisabled Status = "disabled"
)

// App is a calling application.
type App struct {
	ID     string
	Name   string
	Status Status
}

// Key is one app_key/app_secret pair of an app. It is found by the app_key
// but names itself by KeyID: the app_key is a credential on any API that
// accepts the key method, so it never leaves authzd (headers, metadata,
// logs) and Redis holds only its SHA-256.
type Key struct {
	KeyID  string // stable, random, not a credential
	AppID  string
	Secret string
	Scopes []string
	// Methods the key may be used with; empty means every method the API
	// accepts.
	Methods   []Method
	Status    Status
	ExpiresAt Expiry // zero value: never
}

// Allows reports whether the key may be used with method m.
func (k *Key) Allows(m Method) bool { return len(k.Methods) == 0 || slices.Contains(k.Methods, m) }

// HashAppKey is how app_keys are stored and looked up: Redis names a key
// record by the SHA-256 of its app_key, as it does AppCodes.
func HashAppKey(appKey string) string {
	return sha256Hex(appKey)
}

// AppCodeRecord is what an AppCode hash resolves to.
type AppCodeRecord struct {
	AppID  string
	Status Status
}

// Grant authorizes an app on an API for one stage.
type Grant struct {
	ExpiresAt Expiry // zero value: never
}

// SplitList splits a comma- or space-separated list, dropping empties; a
// list with no items is nil. The core, the store and the CLI all parse
// lists with it, so every list is read the same way.
func SplitList(s string) []string {
	xs := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
	if len(xs) == 0 {
		return nil
	}
	return xs
}
