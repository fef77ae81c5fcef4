package authz

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestClassifyStoreError(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 6379}, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	ioTimeout := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	tests := map[string]struct {
		err        error
		want       StoreCause
		wantDetail string // a substring; "" means the detail must be empty
	}{
		"nil":                {nil, "", ""},
		"deadline":           {fmt.Errorf("store: lookup: %w", context.DeadlineExceeded), CauseTimeout, "budget"},
		"canceled":           {fmt.Errorf("store: cache: %w", context.Canceled), CauseCanceled, "gave up"},
		"net read timeout":   {fmt.Errorf("store: lookup: %w", ioTimeout), CauseTimeout, "i/o timeout"},
		"connection refused": {fmt.Errorf("store: principal: %w", refused), CauseConnection, "connection refused"},
		"eof":                {fmt.Errorf("store: admit: %w", io.EOF), CauseConnection, "broke"},
		"reset":              {fmt.Errorf("store: admit: %w", syscall.ECONNRESET), CauseConnection, "broke"},
		"closed":             {fmt.Errorf("store: admit: %w", net.ErrClosed), CauseConnection, "broke"},
		// A decode error names the credential's record: its text is never
		// carried.
		"decode": {fmt.Errorf("store: lookup: key %q: field expires_at is not unix seconds", "SECRET-APP-KEY"), CauseOther, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := ClassifyStoreError(tc.err)
			if got.Cause != tc.want {
				t.Errorf("cause = %q; want %q", got.Cause, tc.want)
			}
			if tc.wantDetail == "" && got.Detail != "" || !strings.Contains(got.Detail, tc.wantDetail) {
				t.Errorf("detail = %q; want it to hold %q", got.Detail, tc.wantDetail)
			}
			if strings.Contains(got.Detail, "SECRET-APP-KEY") {
				t.Errorf("detail %q leaks the app key", got.Detail)
			}
			if tc.err != nil && !got.Cause.Known() {
				t.Errorf("cause %q is not in StoreCauses", got.Cause)
			}
		})
	}
}

// failingStore fails one of the Store methods with err.
type failingStore struct {
	Store
	at  string
	err error
}

func (f failingStore) Lookup(ctx context.Context, q LookupQuery) (LookupResult, error) {
	if f.at == "lookup" {
		return LookupResult{}, f.err
	}
	return f.Store.Lookup(ctx, q)
}

func (f failingStore) Principal(ctx context.Context, q PrincipalQuery) (PrincipalResult, error) {
	if f.at == "principal" {
		return PrincipalResult{}, f.err
	}
	return f.Store.Principal(ctx, q)
}

// The store's error leaves the core with the StoreUnavailable deny, so the
// adapter can log and count its cause; the client's message stays generic.
func TestStoreDownCarriesTheError(t *testing.T) {
	cause := fmt.Errorf("store: lookup: %w", errRedisDown)
	for _, at := range []string{"lookup", "principal"} {
		t.Run(at, func(t *testing.T) {
			e := NewEngine(failingStore{Store: fixture(), at: at, err: cause})
			d := e.Check(context.Background(), req("GET", "/orders", map[string]string{"x-app-key": "k1"}, api("orders")))
			if d.Allow || d.Reason != ReasonStoreUnavailable {
				t.Fatalf("got %+v; want StoreUnavailable", d)
			}
			if !errors.Is(d.Err, errRedisDown) {
				t.Errorf("Decision.Err = %v; want the store's error", d.Err)
			}
			if strings.Contains(d.Message, "127.0.0.1") {
				t.Errorf("the client's message %q carries the store's error", d.Message)
			}
		})
	}
	d := NewEngine(fixture()).Check(context.Background(), req("GET", "/orders", map[string]string{"x-app-key": "k1"}, api("orders")))
	if d.Err != nil {
		t.Errorf("an allow carries Err %v", d.Err)
	}
}
