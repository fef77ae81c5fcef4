package main

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/appauthz/appauthz/authz"
)

// requireFlags reports the first of names the user did not give (or gave
// empty) as a usage error. It replaces cobra's MarkFlagRequired, whose
// error cannot be told from an operation failure.
func requireFlags(cmd *cobra.Command, names ...string) error {
	for _, n := range names {
		f := cmd.Flags().Lookup(n)
		if f == nil || !f.Changed || strings.TrimSpace(f.Value.String()) == "" {
			return usageErrorf("%s needs --%s", cmd.CommandPath(), n)
		}
	}
	return nil
}

// pairedFlags requires a and b together or neither: an imported key needs
// its secret, and a secret alone has no key to belong to.
func pairedFlags(cmd *cobra.Command, a, b string) error {
	ca, cb := cmd.Flags().Changed(a), cmd.Flags().Changed(b)
	switch {
	case ca && !cb:
		return usageErrorf("--%s needs --%s: give both to import a credential, or neither to generate one", a, b)
	case cb && !ca:
		return usageErrorf("--%s needs --%s: give both to import a credential, or neither to generate one", b, a)
	}
	return nil
}

// parseExpires reads the --expires flag of cmd: nil (never) when it was
// not given, otherwise the instant, in UTC to the second as it is stored.
// Whether the flag was given decides "never", not its value: any instant
// is an expiry, and a time in the past (the epoch, year 1) is how an
// operator ends access at once. An empty value is refused rather than
// read as never, so `--expires "$UNSET"` cannot grant access for good.
func parseExpires(cmd *cobra.Command) (*time.Time, error) {
	f := cmd.Flags().Lookup("expires")
	if f == nil || !f.Changed {
		return nil, nil
	}
	s := f.Value.String()
	if strings.TrimSpace(s) == "" {
		return nil, usageErrorf("--expires is empty: give an RFC 3339 time, e.g. 2027-01-31T23:59:59Z, or leave the flag out for no expiry")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, usageErrorf("invalid --expires %q: use RFC 3339, e.g. 2027-01-31T23:59:59Z", s)
	}
	// Rounded down to the second, as the store keeps it, so what is echoed
	// is what is enforced.
	t = time.Unix(t.Unix(), 0).UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		return nil, usageErrorf("invalid --expires %q: it is outside years 0000-9999 in UTC", s)
	}
	return &t, nil
}

// idPattern is what app and API ids may look like: they become parts of
// Redis keys, headers and log lines, so no separators, spaces or controls.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func checkID(flag, v string) error {
	if !idPattern.MatchString(v) {
		return usageErrorf("invalid --%s %q: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", flag, v)
	}
	return nil
}

// checkToken rejects a word that could not travel in a header, a query
// parameter or a space-separated list unchanged.
func checkToken(flag, v string) error {
	for _, r := range v {
		if r <= ' ' || r == 0x7f {
			return usageErrorf("invalid --%s %q: it must not contain spaces or control characters", flag, v)
		}
	}
	return nil
}

// keyPattern is what an app_key may look like (it is part of Redis keys).
var keyPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

func checkKey(flag, v string) error {
	if !keyPattern.MatchString(v) {
		return usageErrorf("invalid --%s %q: use 1-128 letters, digits, '.', '_' or '-'", flag, v)
	}
	return nil
}

// checkSecret validates an imported app_secret or AppCode without echoing
// it: 8 to 256 printable ASCII characters, no spaces, as the store keeps.
func checkSecret(flag, v string) error {
	if len(v) < 8 || len(v) > 256 {
		return usageErrorf("invalid --%s: it must be 8 to 256 characters long (got %d); leave it out to generate one", flag, len(v))
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c > '~' {
			return usageErrorf("invalid --%s: use printable ASCII without spaces (character %d is not); leave it out to generate one", flag, i+1)
		}
	}
	return nil
}

// checkImported validates the credentials a create command imports: those
// given on the command line, before anything is written.
func checkImported(cmd *cobra.Command, keyFlag string, secretFlags ...string) error {
	if f := cmd.Flags().Lookup(keyFlag); f != nil && f.Changed {
		if err := checkKey(keyFlag, f.Value.String()); err != nil {
			return err
		}
	}
	for _, n := range secretFlags {
		if f := cmd.Flags().Lookup(n); f != nil && f.Changed {
			if err := checkSecret(n, f.Value.String()); err != nil {
				return err
			}
		}
	}
	return nil
}

// scopeList parses --scopes; scopes travel space-separated in
// x-appauthz-scopes, so each must be a single printable word.
func scopeList(s string) ([]string, error) {
	var out []string
	for _, sc := range splitUnique(s) {
		if err := checkToken("scopes", sc); err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// splitUnique is authz.SplitList without repeats, order kept.
func splitUnique(s string) []string {
	var out []string
	for _, v := range authz.SplitList(s) {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
