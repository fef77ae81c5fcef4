package oauth2

import (
	"context"
	"errors"
	"time"

	"github.com/appauthz/appauthz/authz"
)

// Backend is what the token endpoint needs from storage. store.Store
// implements it over Redis.
type Backend interface {
	// TokenClient reads the app_key's record and the recent failed client
	// authentications of appKey and source, in one round trip. The client
	// is nil when no such key exists.
	TokenClient(ctx context.Context, appKey, source string) (*Client, Failures, error)
	// SaveToken records a token's hash for t.TTL and indexes it under its
	// app and key, unless the key or app was revoked, deleted or disabled
	// since TokenClient read it (ErrClientGone, ErrClientDisabled): the
	// check and the write are atomic, so a token can never outlive a
	// revocation that raced with its issue.
	SaveToken(ctx context.Context, t Token) error
	// RevokeToken deletes the token with this hash if it was issued to
	// appID (ErrNotOwner otherwise); an unknown hash is not an error.
	RevokeToken(ctx context.Context, hash, appID string) error
	// CountAuthFailure records one failed client authentication for source
	// and, when it names an existing key, for that key (keyHash is its
	// Client.KeyHash; "" otherwise). Each count is forgotten after window
	// without a new failure.
	CountAuthFailure(ctx context.Context, keyHash, source string, window time.Duration) error
}

// Client is an app_key as the token endpoint authenticates it. It holds
// no app_key: logs name the key by KeyID.
type Client struct {
	AppID   string
	KeyID   string
	KeyHash string // authz.HashAppKey of the app_key: the record's name
	Secret  string // in clear, decrypted by the store
	Scopes  []string
	// Methods the key may be used with (empty: all); a key whose list
	// lacks oauth2 cannot authenticate here.
	Methods   []authz.Method
	Status    authz.Status // of the key
	ExpiresAt authz.Expiry // of the key; zero value: never
	// Record is the backend's own name of the key record, handed back in
	// Token.Record; opaque to the handler and never logged.
	Record string
}

// Counter is a failure count and how long until it is forgotten.
type Counter struct {
	Count int64
	TTL   time.Duration
}

// Failures are the recent failed client authentications of one request's
// app_key and source address.
type Failures struct {
	Key, Source Counter
}

// Token is an issued token as it is stored: by hash only.
type Token struct {
	Hash    string // authz.HashToken of the token
	AppID   string
	KeyID   string // the key it is issued to (what a Check reports)
	KeyHash string // that key's record hash (Client.KeyHash)
	Record  string // Client.Record
	Scopes  []string
	TTL     time.Duration
}

// Errors of Backend.SaveToken and RevokeToken.
var (
	ErrClientGone     = errors.New("the app_key or its app no longer exists")
	ErrClientDisabled = errors.New("the app_key or its app is disabled")
	ErrNotOwner       = errors.New("the token was issued to another app")
)
