package main

import (
	"flag"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/appauthz/appauthz/authz/oauth2"
)

// oauth2Config configures the token endpoint on the HTTP listener.
type oauth2Config struct {
	TokenTTL       time.Duration
	MaxFailures    int
	FailureWindow  time.Duration
	TrustedProxies string
	trusted        []netip.Prefix
}

func (o *oauth2Config) register(fs *flag.FlagSet) {
	fs.DurationVar(&o.TokenTTL, "token-ttl", oauth2.DefaultTokenTTL, "lifetime of OAuth2 access tokens issued at /oauth2/token (capped at the key's expiry)")
	fs.IntVar(&o.MaxFailures, "oauth2-max-failures", oauth2.DefaultMaxFailures, "failed client authentications an app_key or a source address may make before /oauth2/token answers 429 (0: no limit)")
	fs.DurationVar(&o.FailureWindow, "oauth2-failure-window", oauth2.DefaultFailureWindow, "how long a failed client authentication counts, from the last one")
	fs.StringVar(&o.TrustedProxies, "trusted-proxies", "", "comma-separated `CIDRs` of proxies (e.g. Envoy, nginx) whose X-Forwarded-For names the client address for throttling; the HTTP authorization endpoint believes X-Forwarded-*/X-Original-* only from them")
}

func (o *oauth2Config) validate() []error {
	var problems []error
	if o.TokenTTL < time.Second || o.TokenTTL > 24*time.Hour {
		problems = append(problems, fmt.Errorf("--token-ttl %v: use a duration from 1s to 24h, e.g. 1h", o.TokenTTL))
	}
	if o.MaxFailures < 0 {
		problems = append(problems, fmt.Errorf("--oauth2-max-failures %d: must be 0 (no limit) or more", o.MaxFailures))
	}
	if o.FailureWindow < time.Second {
		problems = append(problems, fmt.Errorf("--oauth2-failure-window %v: use at least 1s, e.g. 1m", o.FailureWindow))
	}
	o.trusted = nil
	for _, s := range strings.FieldsFunc(o.TrustedProxies, func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				problems = append(problems, fmt.Errorf("--trusted-proxies: %q is not an address or CIDR such as 10.0.0.0/8", s))
				continue
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		o.trusted = append(o.trusted, p.Masked())
	}
	return problems
}

func (o *oauth2Config) options() []oauth2.Option {
	return []oauth2.Option{
		oauth2.WithTokenTTL(o.TokenTTL),
		oauth2.WithFailureLimit(o.MaxFailures, o.FailureWindow),
		oauth2.WithTrustedProxies(o.trusted),
	}
}
