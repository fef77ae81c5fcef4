package main

import (
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/appauthz/appauthz/authz"
)

// limitFlags are --rate, --burst and --quota, shared by api create/update
// and limit set. Only flags the user gave are applied; "none" (or an empty
// value) clears one.
type limitFlags struct{ rate, burst, quota string }

func (f *limitFlags) register(fs *pflag.FlagSet, kept string) {
	fs.StringVar(&f.rate, "rate", "", "rate limit per app: COUNT/UNIT with unit s, m, h or d, e.g. 100/s; none clears"+kept)
	fs.StringVar(&f.burst, "burst", "", "requests a rate lets through at once (default: the rate's COUNT); none resets"+kept)
	fs.StringVar(&f.quota, "quota", "", "quota per app and UTC calendar day: COUNT/day, e.g. 10000/day; none clears"+kept)
}

// given reports whether any limit flag was given.
func (f *limitFlags) given(cmd *cobra.Command) bool {
	ch := cmd.Flags().Changed
	return ch("rate") || ch("burst") || ch("quota")
}

func isNone(v string) bool {
	v = strings.TrimSpace(v)
	return v == "" || strings.EqualFold(v, "none")
}

// apply copies the limit flags the user gave onto l and validates the
// result. Changing the rate keeps the burst unless --burst is given too;
// clearing the rate clears the burst.
func (f *limitFlags) apply(cmd *cobra.Command, l *authz.Limits) error {
	changed := cmd.Flags().Changed
	if changed("rate") {
		if isNone(f.rate) {
			l.Rate = authz.RateLimit{}
		} else {
			r, err := authz.ParseRate(f.rate)
			if err != nil {
				return &usageError{err}
			}
			r.Burst = l.Rate.Burst
			l.Rate = r
		}
	}
	if changed("burst") {
		if isNone(f.burst) {
			l.Rate.Burst = 0
		} else {
			b, err := strconv.ParseInt(strings.TrimSpace(f.burst), 10, 64)
			if err != nil || b < 1 {
				return usageErrorf("invalid --burst %q: give a whole number of requests, at least 1, or none", f.burst)
			}
			l.Rate.Burst = b
		}
	}
	if changed("quota") {
		if isNone(f.quota) {
			l.Quota = 0
		} else {
			q, err := authz.ParseQuota(f.quota)
			if err != nil {
				return &usageError{err}
			}
			l.Quota = q
		}
	}
	if err := l.Validate(); err != nil {
		return &usageError{err}
	}
	return nil
}

// limitsJSON is how limits print: an absent field is no limit of that kind,
// {} is unlimited. burst is the effective one (the rate's count by default).
type limitsJSON struct {
	Rate  string `json:"rate,omitempty"`
	Burst int64  `json:"burst,omitempty"`
	Quota string `json:"quota,omitempty"`
}

func toLimitsJSON(l authz.Limits) limitsJSON {
	return limitsJSON{Rate: l.Rate.String(), Burst: l.Rate.EffectiveBurst(), Quota: authz.FormatQuota(l.Quota)}
}

// limitCells are the RATE, BURST and QUOTA cells of a table.
func limitCells(l limitsJSON) (rate, burst, quota string) {
	rate, burst, quota = "none", "-", "none"
	if l.Rate != "" {
		rate, burst = l.Rate, strconv.FormatInt(l.Burst, 10)
	}
	if l.Quota != "" {
		quota = l.Quota
	}
	return rate, burst, quota
}

// showLimits adds an API's limits, and the apps with their own, to api
// show's table.
func showLimits(t *tableWriter, a apiJSON) {
	rate, burst, quota := limitCells(a.Limits)
	t.fields("RATE", rate, "BURST", burst, "QUOTA", quota)
	for _, l := range a.AppLimits {
		rate, burst, quota := limitCells(l.limitsJSON)
		t.fields("LIMITS OF "+l.AppID, "rate "+rate+", burst "+burst+", quota "+quota)
	}
}
