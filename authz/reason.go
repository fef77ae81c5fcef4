package authz

// Reason is the stable, machine-readable code of a decision. The same string
// is the `x-appauthz-error` header, the `code` of the deny body, the log
// field and the metrics label, so it must never change once released.
type Reason string

// Reason codes of the contract (ARCHITECTURE.md §5).
const (
	ReasonOK                       Reason = "OK"
	ReasonMissingCredential        Reason = "MissingCredential"
	ReasonInvalidAppCode           Reason = "InvalidAppCode"
	ReasonAppCodeInQueryNotAllowed Reason = "AppCodeInQueryNotAllowed"
	ReasonUnknownAppKey            Reason = "UnknownAppKey"
	ReasonInvalidSignature         Reason = "InvalidSignature"
	ReasonUnsupportedAlgorithm     Reason = "UnsupportedAlgorithm"
	ReasonMissingSignedHeader      Reason = "MissingSignedHeader"
	ReasonClockSkew                Reason = "ClockSkew"
	ReasonDigestMismatch           Reason = "DigestMismatch"
	ReasonReplayedRequest          Reason = "ReplayedRequest"
	ReasonInvalidToken             Reason = "InvalidToken"
	ReasonAppDisabled              Reason = "AppDisabled"
	ReasonNotAuthorized            Reason = "NotAuthorized"
	ReasonGrantExpired             Reason = "GrantExpired"
	ReasonInsufficientScope        Reason = "InsufficientScope"
	ReasonUnknownAPI               Reason = "UnknownAPI"
	ReasonBadRequest               Reason = "BadRequest"
	ReasonBodyTooLarge             Reason = "BodyTooLarge"
	ReasonRateLimited              Reason = "RateLimited"
	ReasonStoreUnavailable         Reason = "StoreUnavailable"
)

// reasonInfo is one row of the reason table.
type reasonInfo struct {
	status  int
	message string
}

// reasons is the one table mapping each code to its HTTP status and default
// human message. Messages never say which of key or secret was wrong.
var reasons = map[Reason]reasonInfo{
	ReasonOK:                       {200, "allowed"},
	ReasonMissingCredential:        {401, "no credential accepted by this API was found in the request"},
	ReasonInvalidAppCode:           {401, "the AppCode is not valid"},
	ReasonAppCodeInQueryNotAllowed: {401, "this API accepts the AppCode only in the Authorization header"},
	ReasonUnknownAppKey:            {401, "the app key is not valid"},
	ReasonInvalidSignature:         {401, "the signature does not match the request"},
	ReasonUnsupportedAlgorithm:     {401, "the signature algorithm is not allowed for this API"},
	ReasonMissingSignedHeader:      {401, "a header that must be signed is missing"},
	ReasonClockSkew:                {401, "the request time is outside the allowed window; check the client clock"},
	ReasonDigestMismatch:           {401, "the Digest header is missing or does not match the body"},
	ReasonReplayedRequest:          {401, "this signed request was already used"},
	ReasonInvalidToken:             {401, "the access token is unknown, revoked or expired"},
	ReasonAppDisabled:              {403, "the app or key is disabled"},
	ReasonNotAuthorized:            {403, "the app is not authorized for this API and stage"},
	ReasonGrantExpired:             {403, "the app's authorization for this API has expired"},
	ReasonInsufficientScope:        {403, "the credential lacks a scope this API requires"},
	ReasonUnknownAPI:               {403, "no API matches this request"},
	ReasonBadRequest:               {400, "the request is malformed"},
	ReasonBodyTooLarge:             {413, "the request body is too large or was truncated"},
	ReasonRateLimited:              {429, "rate limit exceeded; retry later"},
	ReasonStoreUnavailable:         {503, "the credential store is unavailable; retry later"},
}

// HTTPStatus is the status Envoy returns to the client for this reason.
func (r Reason) HTTPStatus() int {
	if info, ok := reasons[r]; ok {
		return info.status
	}
	return 403
}

// DefaultMessage is the human text used when a decision carries no
// more specific message.
func (r Reason) DefaultMessage() string {
	if info, ok := reasons[r]; ok {
		return info.message
	}
	return "denied"
}

// Known reports whether r is one of the contract's codes.
func (r Reason) Known() bool {
	_, ok := reasons[r]
	return ok
}

// AllReasons lists every code, for metrics pre-registration and docs.
func AllReasons() []Reason {
	out := make([]Reason, 0, len(reasons))
	for r := range reasons {
		out = append(out, r)
	}
	return out
}
