package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/appauthz/appauthz/store"
)

func newAppCodeCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "appcode",
		Short: "Reset an app's AppCode",
		RunE:  groupRunE,
	}
	cmd.AddCommand(newAppCodeResetCmd(c))
	return cmd
}

// appCodeJSON is the answer of appcode reset (CLI contract JSON names).
type appCodeJSON struct {
	AppID   string `json:"app_id"`
	AppCode string `json:"appcode"`
}

func newAppCodeResetCmd(c *cli) *cobra.Command {
	var appID, code string
	cmd := &cobra.Command{
		Use:   "reset --app ID [--code C]",
		Short: "Replace an app's AppCode (the old one stops working; the new one is printed once)",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.secret(code)
			if err := requireFlags(cmd, "app"); err != nil {
				return err
			}
			if err := checkImported(cmd, "", "code"); err != nil {
				return err
			}
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				newCode, err := st.ResetAppCode(ctx, appID, code)
				switch {
				case errors.Is(err, store.ErrNotFound):
					return fmt.Errorf("app %q not found: see 'authzctl app list'", appID)
				case errors.Is(err, store.ErrExists):
					return errors.New("the AppCode given is already in use: choose another --code, or leave it out to generate one")
				case err != nil:
					return fmt.Errorf("appcode reset --app %s: %w", appID, err)
				}
				out := appCodeJSON{AppID: appID, AppCode: newCode}
				return c.emit(out, func(t *tableWriter) {
					t.fields("APP ID", out.AppID, "APPCODE", out.AppCode)
					t.note("Keep the AppCode now: authzctl cannot show it again.")
				})
			})
		},
	}
	cmd.Flags().StringVar(&appID, "app", "", "app id (required)")
	cmd.Flags().StringVar(&code, "code", "", "import this AppCode (default: generated)")
	return cmd
}
