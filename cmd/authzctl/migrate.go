package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/appauthz/appauthz/store"
)

func newMigrateCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Upgrade the data in Redis to the current format (idempotent, online)",
		Long: `migrate rewrites data written by an older appauthz to the current store
format, then records the format version. Format 2 keeps no app_key in clear:
key records are named by the app_key's SHA-256 and carry a key_id, app key
sets hold key ids, tokens name key ids, and secrets are re-sealed with the new
record name, so sealed secrets need --master-key-file (and
--old-master-key-file during a master key rotation).

It runs online: authzd keeps accepting old and migrated keys while it runs
and stops reading the old layout once the version is recorded. Until then
authzctl refuses other writes. Running it again changes nothing.`,
		Args: argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				res, err := st.Migrate(ctx)
				if err != nil {
					return fmt.Errorf("migrate: %w (keys moved so far: %d; run it again once fixed)", err, res.Keys)
				}
				return c.emit(res, func(t *tableWriter) {
					t.fields("FROM FORMAT", strconv.Itoa(res.From), "TO FORMAT", strconv.Itoa(res.To),
						"KEYS MOVED", strconv.Itoa(res.Keys), "TOKENS REWRITTEN", strconv.Itoa(res.Tokens),
						"LEFTOVERS DELETED", strconv.Itoa(res.Other))
				})
			})
		},
	}
}

// needsWritable reports whether a command writes through the store, so it
// must first check (and on an empty Redis record) the store's format.
// Reads and the commands that work on every format are exempt.
func needsWritable(cmd *cobra.Command) bool {
	switch cmd.Name() {
	case "list", "show", "migrate", "rotate-master":
		return false
	}
	return true
}
