package authz

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
)

// StoreCause says why the store could not answer a Check. It is the label
// of appauthz_store_unavailable_total and the store_cause field of the
// decision log, so the set is small and fixed.
type StoreCause string

// Store failure causes.
const (
	// CauseTimeout: no answer within the Check's budget (a hung or
	// overloaded Redis, a network partition).
	CauseTimeout StoreCause = "timeout"
	// CauseCanceled: the proxy gave up on the Check before it was decided
	// (its ext_authz timeout is shorter than authzd's budget, or the
	// client went away).
	CauseCanceled StoreCause = "canceled"
	// CauseConnection: Redis cannot be reached or closed the connection
	// (refused, reset, DNS, TLS handshake).
	CauseConnection StoreCause = "connection"
	// CauseDecrypt: a secret in Redis does not open with the master keys
	// authzd was given.
	CauseDecrypt StoreCause = "decrypt"
	// CauseProtocol: Redis answered with an error (LOADING, READONLY,
	// MOVED, a script error, …).
	CauseProtocol StoreCause = "protocol"
	// CauseOther: anything else, e.g. a record the store cannot decode.
	CauseOther StoreCause = "other"
)

// StoreCauses lists every cause, for metrics pre-registration and docs.
func StoreCauses() []StoreCause {
	return []StoreCause{CauseTimeout, CauseCanceled, CauseConnection, CauseDecrypt, CauseProtocol, CauseOther}
}

// StoreFailure is a store error made fit for logs and metrics: its class
// and a detail that never holds a credential or record content.
type StoreFailure struct {
	Cause  StoreCause
	Detail string // may be empty when the error text could name a credential
}

// ClassifyStoreError classifies err from what the standard library can
// tell: context ends, network errors and timeouts. The store refines it
// with what only it knows (Redis replies, secrets that do not open); see
// store.DescribeError. A nil err has no cause.
func ClassifyStoreError(err error) StoreFailure {
	if err == nil {
		return StoreFailure{}
	}
	var ne net.Error
	var op *net.OpError
	switch {
	case errors.Is(err, context.Canceled):
		return StoreFailure{CauseCanceled, "the proxy gave up on the Check"}
	case errors.Is(err, context.DeadlineExceeded):
		return StoreFailure{CauseTimeout, "Redis did not answer within the Check's budget"}
	case errors.As(err, &ne) && ne.Timeout():
		// Network errors name an address and an operation, never data.
		return StoreFailure{CauseTimeout, ne.Error()}
	case errors.As(err, &op):
		return StoreFailure{CauseConnection, op.Error()}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return StoreFailure{CauseConnection, "the connection to Redis broke"}
	}
	// The text of an unknown error may quote a record or a credential
	// (a decode error names its key), so it is not carried.
	return StoreFailure{Cause: CauseOther}
}

// Known reports whether c is one of StoreCauses.
func (c StoreCause) Known() bool {
	for _, k := range StoreCauses() {
		if c == k {
			return true
		}
	}
	return false
}
