package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/appauthz/appauthz/authz"
)

// decryptWindow is how long /readyz reports a secret that did not open.
// Nothing on the Check path says when a record was fixed, so the report
// lasts a while after the last failure, long enough to be seen by a
// person or a probe log.
const decryptWindow = 5 * time.Minute

// decryptWatch remembers Checks denied because a secret in Redis does not
// open with authzd's master keys, for /readyz.
//
// It does not make authzd unready. Every replica reads the same Redis
// with the same master keys, so a secret one cannot open, no replica
// can: taking replicas out of the Service would turn one app's 503s into
// everyone's, with no healthy replica to fail over to. A replica started
// with the wrong master key altogether fails every signed and keyed
// Check, which the log, appauthz_store_unavailable_total{cause="decrypt"}
// and this report show at once.
type decryptWatch struct {
	now func() time.Time

	mu    sync.Mutex
	first time.Time // the first failure of the current run of failures
	last  time.Time
	count int // failures since first
}

// observe is the extauthz store-down hook.
func (w *decryptWatch) observe(f authz.StoreFailure) {
	if f.Cause != authz.CauseDecrypt {
		return
	}
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last.IsZero() || now.Sub(w.last) > decryptWindow {
		w.first, w.count = now, 0
	}
	w.last = now
	w.count++
}

// problem is the /readyz line about secrets that did not open within
// decryptWindow, or "".
func (w *decryptWatch) problem() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last.IsZero() || w.now().Sub(w.last) > decryptWindow {
		return ""
	}
	return fmt.Sprintf("warning: master key: %d Check(s) since %s were denied because a secret in Redis does not open with this authzd's master key(s) (last at %s): check --master-key-file and --old-master-key-file, and that authzctl wrote with the same master key.",
		w.count, w.first.UTC().Format(time.RFC3339), w.last.UTC().Format(time.RFC3339))
}
