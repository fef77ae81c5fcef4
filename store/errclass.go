package store

import (
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

// ErrSecretUnopenable marks a read that found an app secret the store's
// master keys cannot open: sealed under a master key authzd was not given,
// tampered with, or stored in clear while plaintext is refused.
var ErrSecretUnopenable = errors.New("a stored secret does not open with the master keys given")

// decryptDetail is what logs and /readyz say of a secret that does not
// open; the error's own text names the app key, which must not be logged.
const decryptDetail = "a secret in Redis does not open with this authzd's master key(s): check --master-key-file and --old-master-key-file, and that authzctl wrote with the same master key"

// openError keeps the message of a failed open (for authzctl) while
// marking it ErrSecretUnopenable (for classification).
type openError struct{ err error }

func (e openError) Error() string   { return e.err.Error() }
func (e openError) Unwrap() []error { return []error{e.err, ErrSecretUnopenable} }

// DescribeError classifies an error of a store call for logs and metrics:
// what the standard library can tell (authz.ClassifyStoreError), refined
// with what only the store knows — secrets that do not open, Redis's own
// replies, go-redis's pool and client errors.
func DescribeError(err error) authz.StoreFailure {
	if err == nil {
		return authz.StoreFailure{}
	}
	var rerr redis.Error
	switch {
	case errors.Is(err, ErrSecretUnopenable), errors.Is(err, ErrNoMasterKey):
		return authz.StoreFailure{Cause: authz.CauseDecrypt, Detail: decryptDetail}
	case errors.Is(err, redis.ErrPoolTimeout):
		return authz.StoreFailure{Cause: authz.CauseTimeout, Detail: "every Redis connection of the pool is busy: Redis is slow or overloaded"}
	case errors.Is(err, redis.ErrClosed):
		return authz.StoreFailure{Cause: authz.CauseConnection, Detail: "the Redis client is closed (authzd is shutting down)"}
	case errors.Is(err, redis.Nil):
		// A missing record is never a failure; reaching here is a store bug.
		return authz.StoreFailure{Cause: authz.CauseOther}
	}
	if f := authz.ClassifyStoreError(err); f.Cause != authz.CauseOther {
		return f
	}
	if errors.As(err, &rerr) {
		// Redis's reply: an error prefix (LOADING, READONLY, MOVED, NOSCRIPT,
		// ERR …) and Redis's text, which quotes no record of ours.
		return authz.StoreFailure{Cause: authz.CauseProtocol, Detail: clip(rerr.Error(), 160)}
	}
	return authz.StoreFailure{Cause: authz.CauseOther}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
