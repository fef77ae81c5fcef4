package authz

// Identity is who the request was authenticated as. It is what the
// upstream receives in the x-appauthz-* headers and what logs name.
type Identity struct {
	AppID   string
	AppName string
	KeyID   string   // the key's id, never its app_key; empty for AppCode
	Method  Method   // the auth method that succeeded
	API     string   // the API id
	Scopes  []string // granted scopes, when any
}

// HeaderValue is one header to add or set.
type HeaderValue struct {
	Name  string // lowercase
	Value string
}

// Decision is the outcome of a Check. The transport adapter maps it to the
// proxy's response exactly as the contract (ARCHITECTURE.md §5) says; it
// never needs to look at the request again.
type Decision struct {
	Allow   bool
	Reason  Reason // ReasonOK when allowed
	Message string // human text; never contains a secret
	// Detail, when set, is the real cause of a deny whose Message is kept
	// vague on purpose; it goes to the log only, never to the client.
	Detail string

	// Identity is filled on allow, and as far as it is known on deny
	// (for logs: a disabled app still has an id).
	Identity Identity

	// On allow: what to strip from the request before it goes upstream.
	HeadersToRemove []string // lowercase names
	QueryToRemove   []string // query parameter names exactly as spelled
	// On allow: trusted headers to set on the request (overwrite).
	HeadersToSet []HeaderValue
	// Headers to add to the response the client sees: on deny the local
	// reply (e.g. www-authenticate, retry-after); on allow the upstream
	// response (e.g. ratelimit-*).
	ResponseHeaders []HeaderValue

	// Err, on a StoreUnavailable deny, is why the store could not answer:
	// for the adapter's log and metrics (classify it, e.g. with
	// ClassifyStoreError), never for the client — its text may name a
	// credential.
	Err error
}

// Status is the HTTP status of the decision.
func (d *Decision) Status() int {
	if d.Allow {
		return 200
	}
	return d.Reason.HTTPStatus()
}

// deny builds a denying decision with the reason's default message when msg
// is empty.
func deny(r Reason, msg string) Decision {
	if msg == "" {
		msg = r.DefaultMessage()
	}
	return Decision{Reason: r, Message: msg}
}
