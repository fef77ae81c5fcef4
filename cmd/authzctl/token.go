package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store"
)

func newTokenCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Revoke OAuth2 access tokens",
		RunE:  groupRunE,
	}
	cmd.AddCommand(newTokenRevokeCmd(c))
	return cmd
}

// tokenRevokedJSON is the answer of token revoke.
type tokenRevokedJSON struct {
	Revoked bool `json:"revoked"` // false: no such live token
}

func newTokenRevokeCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke TOKEN|-",
		Short: "Revoke one access token at once (- reads it from stdin, keeping it out of the process list)",
		Args:  argNames("TOKEN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			tok := args[0]
			if tok == "-" {
				line, err := bufio.NewReader(os.Stdin).ReadString('\n')
				if err != nil && line == "" {
					return usageErrorf("token revoke -: read the token from stdin: %v", err)
				}
				tok = strings.TrimSpace(line)
			}
			c.secret(tok)
			if tok == "" {
				return usageErrorf("token revoke: the token is empty")
			}
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				found, err := st.DropToken(ctx, authz.HashToken(tok))
				if err != nil {
					return fmt.Errorf("token revoke: %w", err)
				}
				out := tokenRevokedJSON{Revoked: found}
				return c.emit(out, func(t *tableWriter) {
					if found {
						t.fields("REVOKED", "yes")
					} else {
						t.fields("REVOKED", "no (unknown, expired or already revoked)")
					}
				})
			})
		},
	}
}
