package extauthz

import (
	"context"
	"errors"
	"fmt"
)

// Default header limits. Envoy's own defaults are 100 header fields
// (max_headers_count) and 60 KiB of headers (max_request_headers_kb), so
// these leave room for a proxy configured well above its defaults while
// bounding what one Check can cost: a CheckRequest may be up to
// MaxRecvMsgSize (17 MiB) on the wire, which could otherwise hold millions
// of header entries.
const (
	DefaultMaxHeaders     = 500
	DefaultMaxHeaderBytes = 256 << 10
)

// ErrTooLarge is wrapped by a ToRequestContext error when the CheckRequest
// is over one of its Limits. The server answers it with a BadRequest deny,
// never an RPC error and never an allow.
var ErrTooLarge = errors.New("request headers too large")

// Limits bound the header fields of one CheckRequest. The zero value of a
// field means its default.
type Limits struct {
	// MaxHeaders is the most header fields a CheckRequest may carry: the
	// entries of `headers`, or of `header_map`, where every repeat of a
	// name is its own entry (Envoy joins repeats only in `headers`). It
	// also bounds the context extensions.
	MaxHeaders int
	// MaxHeaderBytes bounds the names and values of all header fields
	// together, counted as sent. It also bounds http.path (path and query)
	// on its own, since Envoy may send it outside the headers.
	MaxHeaderBytes int
}

// DefaultLimits are DefaultMaxHeaders and DefaultMaxHeaderBytes.
func DefaultLimits() Limits {
	return Limits{MaxHeaders: DefaultMaxHeaders, MaxHeaderBytes: DefaultMaxHeaderBytes}
}

func (l Limits) withDefaults() Limits {
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return l
}

// ctxCheckEvery is how many header fields are converted between two looks
// at the caller's context: often enough that a cancelled Check stops within
// microseconds, rarely enough to cost nothing on the usual dozen headers.
const ctxCheckEvery = 64

// checkCtx reports the context's error (canceled or deadline exceeded) so
// the server answers it as a passed deadline.
func checkCtx(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("check abandoned by the caller: %w", err)
	}
	return nil
}

type tooLargeError struct{ why string }

func (e *tooLargeError) Error() string { return "request headers too large: " + e.why }
func (e *tooLargeError) Unwrap() error { return ErrTooLarge }

func tooManyHeaders(n int, l Limits) error {
	return &tooLargeError{why: fmt.Sprintf("%d header fields, at most %d are accepted; send fewer headers", n, l.MaxHeaders)}
}

func tooManyHeaderBytes(n int, l Limits) error {
	return &tooLargeError{why: fmt.Sprintf("%d bytes of header names and values, at most %d are accepted; send fewer or shorter headers", n, l.MaxHeaderBytes)}
}

func tooManyExtensions(n int, l Limits) error {
	return &tooLargeError{why: fmt.Sprintf("%d context extensions, at most %d are accepted; set fewer in check_settings", n, l.MaxHeaders)}
}

func pathTooLong(n int, l Limits) error {
	return &tooLargeError{why: fmt.Sprintf("the path and query are %d bytes long, at most %d are accepted; send a shorter URL", n, l.MaxHeaderBytes)}
}
