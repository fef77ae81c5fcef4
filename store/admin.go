package store

// This file holds the types of the admin API used by authzctl and --dev.
// Every admin write publishes on the invalidation channel in the same MULTI.

import (
	"errors"
	"time"

	"github.com/appauthz/appauthz/authz"
)

// ErrNotFound is returned by admin reads and writes naming a record that
// does not exist (redis.Nil never leaves this package).
var ErrNotFound = errors.New("not found")

// ErrExists is returned when creating a record whose id or key is taken.
var ErrExists = errors.New("already exists")

// CreateAppParams creates an app. Empty Key/Secret/AppCode are generated
// with crypto/rand; given ones are imported.
type CreateAppParams struct {
	ID      string // "" = generated
	Name    string
	Key     string
	Secret  string
	AppCode string
	// KeyMethods restricts the first key as CreateKeyParams.Methods does.
	KeyMethods []authz.Method
}

// CreatedApp is the one-time answer of CreateApp: the only moment the
// AppCode is known in clear. JSON names are the CLI contract.
type CreatedApp struct {
	AppID     string `json:"app_id"`
	Name      string `json:"name"`
	KeyID     string `json:"key_id"`
	AppKey    string `json:"app_key"`
	AppSecret string `json:"app_secret"`
	AppCode   string `json:"appcode"`
}

// AppInfo describes an app for list/show.
type AppInfo struct {
	AppID      string    `json:"app_id"`
	Name       string    `json:"name"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	Keys       []string  `json:"keys"` // key ids
	HasAppCode bool      `json:"has_appcode"`
}

// CreateKeyParams adds a key to an app.
type CreateKeyParams struct {
	AppID  string
	Key    string // "" = generated
	Secret string // "" = generated
	Scopes []string
	// Methods the key may be used with; empty = every method the API
	// accepts. A signing key whose app_key travels in clear should leave
	// out key, so the app_key alone is not a credential.
	Methods   []authz.Method
	ExpiresAt *time.Time // nil = never; any instant, however far past, is an expiry
}

// CreatedKey is the answer of CreateKey (CLI contract JSON names).
type CreatedKey struct {
	AppID     string   `json:"app_id"`
	KeyID     string   `json:"key_id"`
	AppKey    string   `json:"app_key"`
	AppSecret string   `json:"app_secret"`
	Scopes    []string `json:"scopes"`
	Methods   []string `json:"methods"` // [] = all
}

// KeyInfo describes a key for list: by its id, never its app_key (a
// credential) or secret.
type KeyInfo struct {
	KeyID     string     `json:"key_id"`
	AppID     string     `json:"app_id"`
	Scopes    []string   `json:"scopes"`
	Methods   []string   `json:"methods"` // [] = all
	Status    string     `json:"status"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// GrantInfo is one grant.
type GrantInfo struct {
	API       string     `json:"api"`
	AppID     string     `json:"app_id"`
	Stage     string     `json:"stage"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}
