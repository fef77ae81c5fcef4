package store

// This file holds the types of the admin API used by authzctl and --dev.
// Every admin write publishes on the invalidation channel in the same MULTI.

import (
	"errors"
	"time"
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
}

// CreatedApp is the one-time answer of CreateApp: the only moment the
// AppCode is known in clear. JSON names are the CLI contract.
type CreatedApp struct {
	AppID     string `json:"app_id"`
	Name      string `json:"name"`
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
	Keys       []string  `json:"keys"`
	HasAppCode bool      `json:"has_appcode"`
}

// CreateKeyParams adds a key to an app.
type CreateKeyParams struct {
	AppID     string
	Key       string // "" = generated
	Secret    string // "" = generated
	Scopes    []string
	ExpiresAt *time.Time // nil = never; any instant, however far past, is an expiry
}

// CreatedKey is the answer of CreateKey (CLI contract JSON names).
type CreatedKey struct {
	AppID     string   `json:"app_id"`
	AppKey    string   `json:"app_key"`
	AppSecret string   `json:"app_secret"`
	Scopes    []string `json:"scopes"`
}

// KeyInfo describes a key for list; never the secret.
type KeyInfo struct {
	AppKey    string     `json:"app_key"`
	AppID     string     `json:"app_id"`
	Scopes    []string   `json:"scopes"`
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
