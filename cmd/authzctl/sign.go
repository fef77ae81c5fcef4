package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/appauthz/appauthz/authz/sign"
)

// signFlags are the flags both `sign` subcommands share.
type signFlags struct {
	key, secret string
	headers     []string // -H 'Name: value'
	data        string
	dataSet     bool
	now         int64 // Unix seconds; 0 = the current time
}

func (f *signFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.key, "key", "", "the app key (required)")
	fl.StringVar(&f.secret, "secret", "", "the app secret (required; never printed)")
	fl.StringArrayVarP(&f.headers, "header", "H", nil, "a header the request sends, 'Name: value' (repeatable)")
	fl.StringVarP(&f.data, "data", "d", "", "the request body, sent as is (as curl --data-binary)")
	fl.Int64Var(&f.now, "now", 0, "sign as of this Unix time, for reproducible output (default the current time)")
}

// parse checks the shared flags and arguments: METHOD and an absolute
// http(s) URL.
func (f *signFlags) parse(cmd *cobra.Command, args []string) (method, rawURL string, hdr http.Header, at time.Time, err error) {
	if err = requireFlags(cmd, "key", "secret"); err != nil {
		return
	}
	f.dataSet = cmd.Flags().Changed("data")
	method, rawURL = args[0], args[1]
	if method == "" || strings.ContainsFunc(method, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		err = usageErrorf("invalid METHOD %q: use an HTTP method such as GET or POST", method)
		return
	}
	u, perr := url.Parse(rawURL)
	if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		err = usageErrorf("invalid URL %q: give an absolute http:// or https:// URL, with its query exactly as it will be sent", rawURL)
		return
	}
	hdr = http.Header{}
	for _, h := range f.headers {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			err = usageErrorf("invalid -H %q: use 'Name: value'", h)
			return
		}
		hdr.Add(name, strings.TrimSpace(value))
	}
	at = time.Now()
	if f.now != 0 {
		at = time.Unix(f.now, 0)
	}
	return
}

func newSignCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sign",
		Short: "Print the headers or URL a client must send for hmac, paramsign or xca",
		Long: `sign computes a request's signature the way a client must, so you can try
an API with curl or compare against your own client. It needs no Redis and
no authzd. The secret is used locally and never printed.

See docs/clients.md for the algorithms and complete client examples.`,
		RunE: groupRunE,
	}
	cmd.AddCommand(newSignHMACCmd(), newSignParamsCmd(), newSignXCACmd())
	return cmd
}

func newSignHMACCmd() *cobra.Command {
	var f signFlags
	var algorithm, headers string
	cmd := &cobra.Command{
		Use:   "hmac --key K --secret S [-H 'Name: value']... [-d BODY] METHOD URL",
		Short: "Print the Date, Digest and Authorization headers of an hmac request",
		Example: `  authzctl sign hmac --key K --secret S GET 'https://api.example.com/orders?id=7'
  authzctl sign hmac --key K --secret S -d '{"name": "bob"}' -H 'Content-Type: application/json' POST https://api.example.com/orders`,
		Args: argNames("METHOD", "URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			method, rawURL, hdr, at, err := f.parse(cmd, args)
			if err != nil {
				return err
			}
			s := sign.HMAC{Key: f.key, Secret: f.secret, Algorithm: algorithm, Now: at}
			if cmd.Flags().Changed("headers") {
				if s.Headers = strings.Fields(strings.ReplaceAll(headers, ",", " ")); len(s.Headers) == 0 {
					return usageErrorf("--headers is empty: list what to sign, e.g. \"date request-line digest\"")
				}
			}
			u, _ := url.Parse(rawURL)
			host := hdr.Get("Host")
			if host == "" {
				host = u.Host
			}
			h, err := s.Sign(sign.HMACRequest{Method: method, RequestURI: rawRequestURI(rawURL), Host: host, Header: hdr, Body: []byte(f.data)})
			if err != nil {
				return usageErrorf("%v", err)
			}
			added := [][2]string{{h.DateName, h.Date}}
			if h.Digest != "" {
				added = append(added, [2]string{"Digest", h.Digest})
			}
			added = append(added, [2]string{"Authorization", h.Authorization})
			for _, a := range added {
				hdr.Set(a[0], a[1])
			}
			curl := curlLine(method, rawURL, hdr, f.data, f.dataSet)
			if outputOf(cmd) == outputJSON {
				out := map[string]any{"method": method, "url": rawURL, "headers": pairsMap(added), "signing_string": h.SigningString, "curl": curl}
				return emitSignJSON(cmd, out)
			}
			w := cmd.OutOrStdout()
			for _, a := range added {
				fmt.Fprintf(w, "%s: %s\n", a[0], a[1])
			}
			fmt.Fprintf(w, "\n%s\n", curl)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&algorithm, "algorithm", sign.DefaultAlgorithm, "hmac-sha1, hmac-sha256, hmac-sha384 or hmac-sha512")
	cmd.Flags().StringVar(&headers, "headers", "", `headers to sign, in order (default "date request-line", plus "digest" with a body)`)
	return cmd
}

func newSignParamsCmd() *cobra.Command {
	var f signFlags
	var timestamp bool
	var signIn string
	cmd := &cobra.Command{
		Use:   "paramsign --key K --secret S [-H 'Content-Type: …'] [-d BODY] [--timestamp] [--sign-in query|body] METHOD URL",
		Short: "Print the signed URL (or body) of a paramsign request",
		Long: `paramsign signs every query parameter and, with -d, the body: a form body's
fields (the default content type with -d, as with curl) or a JSON body as the
parameter data. --sign-in query (the default) appends appKey, apiTimestamp and
sign to the URL and leaves the body as is; --sign-in body appends them to a
form body or wraps a JSON body in the envelope {"data": …, "appKey": …, "sign": …}.`,
		Example: `  authzctl sign paramsign --key K --secret S --timestamp GET 'https://api.example.com/coupons?param1=123'
  authzctl sign paramsign --key K --secret S -H 'Content-Type: application/json' -d '{"a":1}' POST https://api.example.com/orders`,
		Args: argNames("METHOD", "URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			method, rawURL, hdr, at, err := f.parse(cmd, args)
			if err != nil {
				return err
			}
			var where sign.Placement
			switch signIn {
			case "query":
				where = sign.InQuery
			case "body":
				where = sign.InBody
			default:
				return usageErrorf("invalid --sign-in %q: use query or body", signIn)
			}
			if f.dataSet && hdr.Get("Content-Type") == "" {
				hdr.Set("Content-Type", sign.ContentForm) // what curl -d sends
			}
			p := sign.Params{Key: f.key, Secret: f.secret}
			if timestamp {
				p.Timestamp = at
			}
			s, err := p.Sign(sign.ParamRequest{URL: rawURL, ContentType: hdr.Get("Content-Type"), Body: []byte(f.data)}, where)
			if err != nil {
				return usageErrorf("%v", err)
			}
			curl := curlLine(method, s.URL, hdr, string(s.Body), f.dataSet)
			if outputOf(cmd) == outputJSON {
				out := map[string]any{"method": method, "url": s.URL, "sign": s.Sign, "canonical": s.Canonical, "curl": curl}
				if f.dataSet {
					out["body"] = string(s.Body)
					out["content_type"] = hdr.Get("Content-Type")
				}
				return emitSignJSON(cmd, out)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "URL: %s\n", s.URL)
			if f.dataSet {
				fmt.Fprintf(w, "Content-Type: %s\nBody: %s\n", hdr.Get("Content-Type"), s.Body)
			}
			fmt.Fprintf(w, "\n%s\n", curl)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&timestamp, "timestamp", false, "add and sign apiTimestamp (the signature then expires with the API's clock skew)")
	cmd.Flags().StringVar(&signIn, "sign-in", "query", "where appKey, apiTimestamp and sign travel: query or body")
	return cmd
}

// emitSignJSON prints one JSON object with URLs and quotes unescaped
// (no \u0026 for &), so values can be pasted as they are.
func emitSignJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// outputOf reads the global -o flag; sign works without a root too.
func outputOf(cmd *cobra.Command) string {
	if f := cmd.Flags().Lookup("output"); f != nil {
		return f.Value.String()
	}
	return outputTable
}

// rawRequestURI is the path and query of rawURL exactly as written: what
// the client will send and so what must be signed (url.URL would
// re-encode it).
func rawRequestURI(rawURL string) string {
	rest := rawURL[strings.Index(rawURL, "://")+3:]
	rest, _, _ = strings.Cut(rest, "#")
	i := strings.IndexAny(rest, "/?")
	if i < 0 {
		return "/"
	}
	if rest[i] == '?' {
		return "/" + rest[i:]
	}
	return rest[i:]
}

// curlLine is a ready-to-paste curl command for the signed request.
func curlLine(method, rawURL string, hdr http.Header, body string, withBody bool) string {
	var b strings.Builder
	b.WriteString("curl -X " + shellQuote(method) + " " + shellQuote(rawURL))
	for _, name := range sortedKeys(hdr) {
		for _, v := range hdr[name] {
			b.WriteString(" -H " + shellQuote(name+": "+v))
		}
	}
	if withBody {
		b.WriteString(" --data-binary " + shellQuote(body))
	}
	return b.String()
}

func sortedKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func pairsMap(pairs [][2]string) map[string]string {
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		m[p[0]] = p[1]
	}
	return m
}
