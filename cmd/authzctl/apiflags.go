package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/appauthz/appauthz/authz"
)

// apiFlags are the flags api create and api update share. Only flags the
// user gave are applied, so update keeps the rest and create keeps the
// defaults of newAPI.
type apiFlags struct {
	methods, appCodeMode, access       string
	host, pathPrefix, routeMethods     string
	scopes, hmacAlgorithms, enforceHdr string
	methodScopes                       string
	clockSkew                          time.Duration
	replay, timestampRequired          bool
	xcaTimestamp, xcaNonce             string
	limits                             limitFlags
}

// newAPI is an API with the documented defaults of api create.
func newAPI(id string) authz.API {
	return authz.API{
		ID:               id,
		AppCodeMode:      authz.AppCodeHeader,
		Access:           authz.AccessAuthorized,
		ClockSkew:        authz.DefaultClockSkew,
		ReplayProtection: true,
	}
}

func (f *apiFlags) register(fs *pflag.FlagSet, create bool) {
	def := newAPI("")
	kept := ""
	if !create {
		kept = " (kept unless given)"
		def = authz.API{}
	}
	methodsHelp := "auth methods the API accepts: appcode,key,hmac,paramsign,oauth2,xca"
	if create {
		methodsHelp += " (required)"
	}
	fs.StringVar(&f.methods, "methods", "", methodsHelp+kept)
	fs.StringVar(&f.appCodeMode, "appcode-mode", string(def.AppCodeMode), "where an AppCode is accepted: header, header-query or disabled"+kept)
	fs.StringVar(&f.access, "access", string(def.Access), "authenticated (a valid credential is enough) or authorized (a grant is needed too)"+kept)
	fs.StringVar(&f.host, "host", "", "route: exact host or *.domain, for requests that name no API"+kept)
	fs.StringVar(&f.pathPrefix, "path-prefix", "", "route: path prefix, e.g. /orders"+kept)
	fs.StringVar(&f.routeMethods, "route-methods", "", "route: HTTP methods, e.g. GET,POST (default all)"+kept)
	fs.DurationVar(&f.clockSkew, "clock-skew", def.ClockSkew, "how far a signature's Date, apiTimestamp or X-Ca-Timestamp may be from now (create: 15m when --methods has xca)"+kept)
	fs.StringVar(&f.scopes, "scopes", "", "scopes a key or token must hold"+kept)
	fs.StringVar(&f.methodScopes, "method-scopes", "", "scopes needed per HTTP method, on top of --scopes: 'GET,HEAD=orders:read;*=orders:write'; '*' covers every method no other rule names, and a method no rule covers is refused (\"\" clears)"+kept)
	fs.StringVar(&f.hmacAlgorithms, "hmac-algorithms", "", "allowed HMAC algorithms, e.g. hmac-sha256,hmac-sha512 (default all of "+strings.Join(authz.HMACAlgorithms, ",")+")"+kept)
	fs.StringVar(&f.enforceHdr, "enforce-headers", "", "headers every HMAC signature must sign, e.g. date,request-line,digest"+kept)
	fs.BoolVar(&f.replay, "replay-protection", def.ReplayProtection, "refuse a signature seen before within the clock skew window"+kept)
	fs.BoolVar(&f.timestampRequired, "timestamp-required", def.TimestampRequired, "paramsign requests must carry apiTimestamp"+kept)
	xcaTS, xcaNonce := "", ""
	if create {
		xcaTS, xcaNonce = string(authz.XCATimestampRequiredSigned), string(authz.XCANonceOptional)
	}
	fs.StringVar(&f.xcaTimestamp, "xca-timestamp", xcaTS, "xca: X-Ca-Timestamp must be required-signed (present, in the window, listed in X-Ca-Signature-Headers), required, or optional"+kept)
	fs.StringVar(&f.xcaNonce, "xca-nonce", xcaNonce, "xca: X-Ca-Nonce is required or optional (a nonce sent is always single-use)"+kept)
	f.limits.register(fs, kept)
}

// apply copies the flags the user gave onto api, validating each.
func (f *apiFlags) apply(cmd *cobra.Command, api *authz.API) error {
	changed := cmd.Flags().Changed
	var err error
	if changed("methods") {
		if api.Methods, err = authz.ParseMethods(f.methods); err != nil {
			return &usageError{err}
		}
	}
	if changed("appcode-mode") {
		if api.AppCodeMode, err = authz.ParseAppCodeMode(f.appCodeMode); err != nil {
			return &usageError{err}
		}
	}
	if changed("access") {
		if api.Access, err = authz.ParseAccess(f.access); err != nil {
			return &usageError{err}
		}
	}
	if changed("clock-skew") {
		if f.clockSkew <= 0 {
			return usageErrorf("invalid --clock-skew %s: give a positive duration such as 300s or 5m", f.clockSkew)
		}
		api.ClockSkew = f.clockSkew
	}
	if changed("scopes") {
		if api.Scopes, err = scopeList(f.scopes); err != nil {
			return err
		}
	}
	if changed("method-scopes") {
		if api.MethodScopes, err = authz.ParseMethodScopes(f.methodScopes); err != nil {
			return &usageError{fmt.Errorf("invalid --method-scopes: %w", err)}
		}
	}
	if changed("hmac-algorithms") {
		if api.HMACAlgorithms, err = hmacAlgorithms(f.hmacAlgorithms); err != nil {
			return err
		}
	}
	if changed("enforce-headers") {
		if api.EnforceHeaders, err = headerNames(f.enforceHdr); err != nil {
			return err
		}
	}
	if changed("replay-protection") {
		api.ReplayProtection = f.replay
	}
	if changed("timestamp-required") {
		api.TimestampRequired = f.timestampRequired
	}
	if changed("xca-timestamp") {
		if api.XCATimestamp, err = authz.ParseXCATimestampPolicy(f.xcaTimestamp); err != nil {
			return &usageError{err}
		}
	}
	if changed("xca-nonce") {
		if api.XCANonce, err = authz.ParseXCANoncePolicy(f.xcaNonce); err != nil {
			return &usageError{err}
		}
	}
	if err := f.limits.apply(cmd, &api.Limits); err != nil {
		return err
	}
	if changed("host") || changed("path-prefix") || changed("route-methods") {
		return f.applyRoute(changed, api)
	}
	return nil
}

// applyRoute sets the API's route. An API without host, prefix and methods
// has no route (reachable only when the proxy names it): an empty route
// would otherwise match every request.
func (f *apiFlags) applyRoute(changed func(string) bool, api *authz.API) error {
	r := api.Route
	if changed("host") {
		h := strings.ToLower(strings.TrimSpace(f.host))
		if strings.ContainsAny(h, "/ \t") {
			return usageErrorf("invalid --host %q: give a host name such as api.example.com or *.example.com", f.host)
		}
		r.Host = h
	}
	if changed("path-prefix") {
		p := strings.TrimSpace(f.pathPrefix)
		if p != "" && !strings.HasPrefix(p, "/") {
			return usageErrorf("invalid --path-prefix %q: it must start with /", f.pathPrefix)
		}
		r.PathPrefix = p
	}
	if changed("route-methods") {
		r.Methods = nil
		for _, m := range splitUnique(strings.ToUpper(f.routeMethods)) {
			if strings.IndexFunc(m, func(c rune) bool { return c < 'A' || c > 'Z' }) >= 0 {
				return usageErrorf("invalid --route-methods %q: give HTTP methods such as GET,POST", f.routeMethods)
			}
			r.Methods = append(r.Methods, m)
		}
	}
	if r.Host == "" && r.PathPrefix == "" && len(r.Methods) == 0 {
		api.Route = authz.Route{}
		return nil
	}
	r.API = api.ID
	api.Route = r
	return nil
}

func hmacAlgorithms(s string) ([]string, error) {
	var out []string
	for _, a := range splitUnique(strings.ToLower(s)) {
		if !slices.Contains(authz.HMACAlgorithms, a) {
			return nil, usageErrorf("unknown HMAC algorithm %q: use one or more of %s", a, strings.Join(authz.HMACAlgorithms, ", "))
		}
		out = append(out, a)
	}
	return out, nil
}

// headerNames parses --enforce-headers: lowercase header names (HTTP
// tokens) or the pseudo-header request-line.
func headerNames(s string) ([]string, error) {
	var out []string
	for _, h := range splitUnique(strings.ToLower(s)) {
		if strings.IndexFunc(h, func(c rune) bool { return !isTokenChar(c) }) >= 0 {
			return nil, usageErrorf("invalid header name %q in --enforce-headers", h)
		}
		out = append(out, h)
	}
	return out, nil
}

// isTokenChar reports whether c may appear in an HTTP field name (RFC 9110 §5.6.2).
func isTokenChar(c rune) bool {
	return c < 0x7f && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.ContainsRune("!#$%&'*+-.^_`|~", c))
}

// xcaTimestampOf and xcaNonceOf show an API's xca policies with the
// defaults spelled out.
func xcaTimestampOf(a authz.API) authz.XCATimestampPolicy {
	if a.XCATimestamp == "" {
		return authz.XCATimestampRequiredSigned
	}
	return a.XCATimestamp
}

func xcaNonceOf(a authz.API) authz.XCANoncePolicy {
	if a.XCANonce == "" {
		return authz.XCANonceOptional
	}
	return a.XCANonce
}
