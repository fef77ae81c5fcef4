package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes: scripts tell a mistyped command (fix the invocation) from a
// failed operation (fix the data or the environment).
const (
	exitOK    = 0
	exitFail  = 1 // the operation failed: unknown app, Redis down, duplicate
	exitUsage = 2 // bad flags, missing arguments, unknown command
)

// usageError is a mistake in the invocation; it exits 2 with usage.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error {
	return &usageError{fmt.Errorf(format, a...)}
}

// opError is a failed operation; it exits 1 with one line on stderr.
type opError struct{ err error }

func (e *opError) Error() string { return e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

// markOperationErrors wraps the RunE of every command in the tree so that
// what a command returns is an operation failure unless it says it is a
// usage error. Errors cobra raises before RunE (flag parsing, argument
// validators, unknown commands) stay unmarked and so count as usage errors.
func markOperationErrors(cmd *cobra.Command) {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			err := run(cmd, args)
			var ue *usageError
			if err == nil || errors.As(err, &ue) {
				return err
			}
			return &opError{err}
		}
	}
	for _, sub := range cmd.Commands() {
		markOperationErrors(sub)
	}
}

// report prints err the way its class asks for and returns the exit code.
// redact hides secrets the invocation carried (flag values, the Redis
// password) should an error message ever echo one.
func report(stderr io.Writer, cmd *cobra.Command, err error, redact func(string) string) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "authzctl: %s\n", oneLine(redact(err.Error())))
	if oe := (*opError)(nil); errors.As(err, &oe) {
		return exitFail
	}
	if cmd != nil {
		fmt.Fprintf(stderr, "\n%s", cmd.UsageString())
	}
	return exitUsage
}

// oneLine folds a multi-line message (some driver errors have them) so an
// operation failure is exactly one line on stderr.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// groupRunE makes a command group (app, key, …) reject a missing or unknown
// subcommand as a usage error. Without it cobra prints help and exits 0.
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return usageErrorf("%s needs a subcommand", cmd.CommandPath())
	}
	return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
}

// argNames accepts exactly the named positional arguments.
func argNames(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == len(names) {
			return nil
		}
		if len(names) == 0 {
			return usageErrorf("%s takes no arguments, got %q", cmd.CommandPath(), args[0])
		}
		if len(args) < len(names) {
			return usageErrorf("%s needs %s", cmd.CommandPath(), strings.Join(names[len(args):], " "))
		}
		return usageErrorf("%s takes %d argument(s) (%s), got %d", cmd.CommandPath(), len(names), strings.Join(names, " "), len(args))
	}
}
