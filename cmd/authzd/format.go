package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/appauthz/appauthz/store"
)

// checkFormat reads the store's format version at start. Data of format 1
// (written before key ids) keeps working: key lookups also read the old
// layout until `authzctl migrate` has run, and the operator is told so.
// A newer format than this binary knows is refused. When Redis does not
// answer yet, it is read again every second until it does (the cache also
// reads it each time its subscription comes up).
func checkFormat(ctx context.Context, st *store.Store, log *slog.Logger) error {
	f, err := st.LoadFormat(ctx)
	switch {
	case f > store.FormatVersion:
		return err
	case err != nil:
		log.Warn("could not read the store's format version yet; retrying until Redis answers", slog.String("error", err.Error()))
		go func() {
			for ctx.Err() == nil {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				if f, err := st.LoadFormat(ctx); err == nil {
					if f == 1 {
						log.Warn("this Redis holds format-1 data (app_keys in clear in key names): existing keys keep working, but run `authzctl migrate`")
					}
					return
				}
			}
		}()
	case f == 1:
		log.Warn("this Redis holds format-1 data (app_keys in clear in key names): existing keys keep working, but run `authzctl migrate` (see the upgrade notes in README)",
			slog.Int("format", f), slog.Int("current_format", store.FormatVersion))
	default:
		log.Info("store format", slog.Int("format", f))
	}
	return nil
}
