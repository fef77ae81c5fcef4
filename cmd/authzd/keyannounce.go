package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/appauthz/appauthz/store"
)

// keyAnnounceTTL is how long an announcement of the master keys this
// authzd opens outlives it when it stops without withdrawing (killed);
// it is renewed at a third of it. `authzctl secrets rotate-master`
// refuses while a live announcement lacks the new key (docs/rotation.md).
const keyAnnounceTTL = 30 * time.Second

// announceMasterKeys keeps announcing in Redis which master key ids this
// authzd opens, until the returned function withdraws the announcement
// (at exit). The first announcement is made before it returns, so an
// authzd that serves is known to rotate-master. A failure is retried at
// the next renewal: Redis being down is reported by health already.
func announceMasterKeys(st *store.Store, log *slog.Logger) (stop func()) {
	instance := instanceName()
	ctx, cancel := context.WithCancel(context.Background())
	announce := func() {
		if err := st.AnnounceMasterKeys(ctx, instance, keyAnnounceTTL); err != nil && ctx.Err() == nil {
			log.Debug("cannot announce the master keys this authzd opens", slog.String("error", err.Error()))
		}
	}
	announce()
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(keyAnnounceTTL / 3)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				announce()
			}
		}
	}()
	return func() {
		cancel()
		<-done
		wctx, wcancel := context.WithTimeout(context.Background(), time.Second)
		defer wcancel()
		_ = st.WithdrawMasterKeys(wctx, instance) // else it expires
	}
}

// instanceName names this process among the authzd sharing a Redis:
// host (the pod name on Kubernetes), pid and a random suffix, so two
// containers with pid 1 on one host differ.
func instanceName() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}
