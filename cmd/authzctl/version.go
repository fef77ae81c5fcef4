package main

import (
	"github.com/spf13/cobra"

	"github.com/appauthz/appauthz/internal/buildinfo"
)

// newVersionCmd prints the build; it needs neither Redis nor a master key.
func newVersionCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print authzctl's version, VCS commit and Go version",
		Args:  argNames(),
		RunE: func(*cobra.Command, []string) error {
			i := buildinfo.Read()
			return c.emit(i, func(t *tableWriter) {
				t.fields("VERSION", i.Version, "COMMIT", i.Commit, "GO", i.GoVersion)
			})
		},
	}
}
