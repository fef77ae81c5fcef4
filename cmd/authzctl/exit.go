package main

import (
	"encoding/json"
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

// deniedError is `check --fail` meeting a deny: exit 1, and nothing on
// stderr, since the decision is already on stdout.
type deniedError struct{}

func (deniedError) Error() string { return "denied" }

// jsonError is an error as -o json prints it on stderr: one object, so a
// script reading JSON gets JSON whichever way the command ended.
type jsonError struct {
	Error    string `json:"error"`
	Kind     string `json:"kind"` // "operation" (exit 1) or "usage" (exit 2)
	ExitCode int    `json:"exit_code"`
}

// report prints err the way its class asks for and returns the exit code:
// with jsonOut one JSON object (jsonError), else one line, and for a usage
// error the usage. redact hides secrets the invocation carried (flag
// values, the Redis password) should an error message ever echo one.
func report(stderr io.Writer, cmd *cobra.Command, err error, redact func(string) string, jsonOut bool) int {
	if err == nil {
		return exitOK
	}
	if errors.As(err, new(deniedError)) {
		return exitFail
	}
	msg := oneLine(redact(err.Error()))
	code, kind := exitUsage, "usage"
	if oe := (*opError)(nil); errors.As(err, &oe) {
		code, kind = exitFail, "operation"
	}
	if jsonOut {
		_ = json.NewEncoder(stderr).Encode(jsonError{Error: msg, Kind: kind, ExitCode: code})
		return code
	}
	fmt.Fprintf(stderr, "authzctl: %s\n", msg)
	if code == exitUsage && cmd != nil {
		fmt.Fprintf(stderr, "\n%s", cmd.UsageString())
	}
	return code
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
