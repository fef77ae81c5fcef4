package authz

import (
	"context"
	"time"
)

// Store is what the decision core needs from storage. It is shaped so that
// a Check costs at most two round trips without a cache: Lookup fetches the
// API (or the route table) with every credential the request carries, and
// Principal fetches the apps, the API found by route, and the grants.
//
// Records that do not exist are nil or absent from the maps, not errors. Any
// error means the store could not answer; the core then denies with
// StoreUnavailable (fail closed).
type Store interface {
	Lookup(ctx context.Context, q LookupQuery) (LookupResult, error)
	Principal(ctx context.Context, q PrincipalQuery) (PrincipalResult, error)
	// Admit is the last step of a Check that passed everything else: it
	// claims the replay nonce of a signature and charges the traffic limits
	// that apply, atomically and in one round trip. It is called only when
	// there is something to claim or charge.
	Admit(ctx context.Context, q AdmitQuery) (AdmitResult, error)
}

// AdmitQuery is the final round trip of an allowed Check.
type AdmitQuery struct {
	// Now is the engine's clock: limits are charged at this instant and
	// the quota day is its UTC date (see docs/ratelimits.md).
	Now   time.Time
	AppID string // whose nonce and limits these are
	API   string
	// Nonce, when set, is recorded for NonceTTL; a nonce already recorded
	// means the request is a replay (SET NX semantics), and a replay is
	// charged nothing.
	Nonce    string
	NonceTTL time.Duration
	// Limits are charged when the nonce is fresh; if one is exceeded
	// nothing is charged (the nonce is still recorded).
	Limits Limits
}

// AdmitResult answers an AdmitQuery.
type AdmitResult struct {
	Replayed bool        // the nonce was already recorded
	Rate     *LimitState // nil when no rate applied (or the request was a replay)
	Quota    *LimitState // nil when no quota applied (or the request was a replay)
}

// Limited reports whether a limit refused the request.
func (r AdmitResult) Limited() bool {
	return r.Rate != nil && r.Rate.Exceeded || r.Quota != nil && r.Quota.Exceeded
}

// LookupQuery is round trip one.
type LookupQuery struct {
	APIID         string   // the API named by the proxy; "" to fetch the route table
	AppKeys       []string // app_keys to fetch (the store looks them up by HashAppKey)
	AppCodeHashes []string // sha256 hex of AppCodes to fetch
	TokenHashes   []string // sha256 hex of bearer tokens to fetch
}

// LookupResult answers a LookupQuery.
type LookupResult struct {
	API      *API            // nil when APIID was "" or the API does not exist
	Routes   []Route         // the route table, when APIID was ""
	Keys     map[string]*Key // by HashAppKey of the app_key
	AppCodes map[string]*AppCodeRecord
	Tokens   map[string]*Token
}

// PrincipalQuery is round trip two.
type PrincipalQuery struct {
	APIID    string   // fetch this API too (it was resolved by route); "" if known
	AppIDs   []string // apps to fetch
	GrantAPI string   // API id whose grants to read for each app
	Stage    string
	LimitAPI string // API id whose per-app limits to read for each app
}

// PrincipalResult answers a PrincipalQuery.
type PrincipalResult struct {
	API    *API
	Apps   map[string]*App
	Grants map[string]*Grant // by app id; absent = no grant
	// Limits are the apps' own limits on LimitAPI, by app id; absent = the
	// API's limits apply.
	Limits map[string]*Limits
}

// Token is what an opaque bearer token resolves to.
type Token struct {
	AppID  string
	KeyID  string // the key it was issued to
	Scopes []string
}
