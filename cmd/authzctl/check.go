package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/appauthz/appauthz/authz/extauthz"
)

const defaultAuthzd = "127.0.0.1:9001"

// checkOptions are the flags of `authzctl check`.
type checkOptions struct {
	authzd     string
	api        string
	stage      string
	headers    []string
	data       string
	http2      bool
	rawHeaders bool
	timeout    time.Duration
	fail       bool
}

// newCheckCmd is `authzctl check`: send authzd the CheckRequest Envoy would
// send for an HTTP request, and show the decision as Envoy would apply it.
func newCheckCmd() *cobra.Command {
	o := &checkOptions{}
	authzd := os.Getenv("AUTHZ_AUTHZD")
	if authzd == "" {
		authzd = defaultAuthzd
	}
	cmd := &cobra.Command{
		Use:   "check [flags] METHOD URL",
		Short: "Ask authzd for a decision on an HTTP request, as Envoy would",
		Long: `check builds the ext_authz CheckRequest Envoy would send for METHOD URL
(lowercase headers, :authority/:method/:path/:scheme, the body in raw_body)
and sends it to a running authzd. It prints the decision: ALLOW with the
headers set and removed upstream, or DENY with the status, reason code and
message the client would get.

Exit status: 0 when authzd decided (allow or deny; with --fail, a deny
exits 1), 1 when authzd could not be reached or answered with an error, 2
on a usage error. With -o json an error is a JSON object on stderr.`,
		Example: `  authzctl check -H 'Authorization: APPCODE 3F2504E04F8911D39A0C0305E82C3301' GET http://localhost/demo/hello
  authzctl check GET 'http://localhost/demo/hello?appKey=088ed68d41504123b76d0812f328b560'
  authzctl check --api orders -d @order.json -H 'Content-Type: application/json' POST http://localhost/orders
  authzctl check --fail -H 'X-App-Key: 088ed68d41504123b76d0812f328b560' GET http://localhost/demo/hello || exit 1`,
		Args: argNames("METHOD", "URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd, o, args[0], args[1])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.authzd, "authzd", authzd, "authzd gRPC `address` (env AUTHZ_AUTHZD)")
	f.StringVar(&o.api, "api", "", "API id, sent as context extension \"api\" as an Envoy route would")
	f.StringVar(&o.stage, "stage", "", "stage, sent as context extension \"stage\" (authzd defaults to RELEASE)")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	f.StringVarP(&o.data, "data", "d", "", "request body, or @file to read it from a file (@- for stdin)")
	f.BoolVar(&o.http2, "http2", false, "mark the request as HTTP/2 (default HTTP/1.1)")
	f.BoolVar(&o.rawHeaders, "raw-headers", false, "send header_map instead of headers, like Envoy with encode_raw_headers: true")
	f.DurationVar(&o.timeout, "timeout", 5*time.Second, "how long to wait for authzd")
	f.BoolVar(&o.fail, "fail", false, "exit 1 on a deny (for scripts and CI); the decision is printed all the same")
	return cmd
}

func runCheck(cmd *cobra.Command, o *checkOptions, method, rawURL string) error {
	output, err := cmd.Flags().GetString("output")
	if err != nil {
		output = "table" // the flag lives on the root; absent when run alone
	}
	hdr, err := parseHeaders(o.headers)
	if err != nil {
		return err
	}
	body, err := readBody(o.data, cmd.InOrStdin())
	if err != nil {
		return err
	}
	req := extauthz.HTTPRequest{Method: method, URL: rawURL, Header: hdr, Body: body, RawHeaders: o.rawHeaders}
	if o.http2 {
		req.Protocol = "HTTP/2"
	}
	if o.api != "" || o.stage != "" {
		req.ContextExtensions = map[string]string{}
		if o.api != "" {
			req.ContextExtensions["api"] = o.api
		}
		if o.stage != "" {
			req.ContextExtensions["stage"] = o.stage
		}
	}
	cr, err := extauthz.NewCheckRequest(req)
	if err != nil {
		return usageErrorf("%v", err)
	}

	resp, err := sendCheck(cmd.Context(), o.authzd, o.timeout, cr)
	if err != nil {
		return err
	}
	res := resultFromResponse(resp)
	if err := writeCheckResult(cmd.OutOrStdout(), output, res); err != nil {
		return err
	}
	if o.fail && !res.Allowed {
		return deniedError{}
	}
	return nil
}

// sendCheck makes the one Check call.
func sendCheck(ctx context.Context, addr string, timeout time.Duration, cr *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(extauthz.MaxRecvMsgSize)))
	if err != nil {
		return nil, usageErrorf("--authzd %q: %v", addr, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := authv3.NewAuthorizationClient(conn).Check(ctx, cr)
	if err != nil {
		st := status.Convert(err)
		switch st.Code() {
		case codes.Unavailable, codes.DeadlineExceeded:
			return nil, fmt.Errorf("cannot reach authzd at %s (%s): start it (go run ./cmd/authzd --dev) or point --authzd or AUTHZ_AUTHZD at its gRPC address", addr, st.Message())
		}
		return nil, fmt.Errorf("authzd at %s answered with an RPC error, which Envoy turns into status_on_error: %s: %s", addr, st.Code(), st.Message())
	}
	return resp, nil
}

// parseHeaders reads curl-style -H 'Name: value' flags.
func parseHeaders(hs []string) (http.Header, error) {
	out := http.Header{}
	for _, h := range hs {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, usageErrorf("-H %q: use -H 'Name: value'", h)
		}
		out.Add(name, strings.TrimLeft(value, " \t"))
	}
	return out, nil
}

// readBody reads -d: a literal body, @file, or @- for stdin.
func readBody(data string, stdin io.Reader) ([]byte, error) {
	name, isFile := strings.CutPrefix(data, "@")
	if !isFile {
		return []byte(data), nil
	}
	if name == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read the body from stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, usageErrorf("-d @%s: %v", name, err)
	}
	return b, nil
}

// checkResult is the decision as Envoy applies it; its JSON is the
// `-o json` contract of `authzctl check`.
type checkResult struct {
	Allowed         bool              `json:"allowed"`
	Status          int               `json:"status"`
	Reason          string            `json:"reason"`
	Message         string            `json:"message"`
	HeadersSet      map[string]string `json:"headers_set"`
	HeadersRemoved  []string          `json:"headers_removed"`
	QueryRemoved    []string          `json:"query_removed"`
	ResponseHeaders map[string]string `json:"response_headers"`
}

// resultFromResponse reads a CheckResponse the way Envoy does
// (ENVOY-FACTS §3): status code 0 is an allow; anything else is a deny
// whose HTTP status is denied_response.status, or 403 when unset.
func resultFromResponse(resp *authv3.CheckResponse) checkResult {
	r := checkResult{
		HeadersSet:      map[string]string{},
		HeadersRemoved:  []string{},
		QueryRemoved:    []string{},
		ResponseHeaders: map[string]string{},
	}
	if resp.GetStatus().GetCode() == int32(codes.OK) {
		ok := resp.GetOkResponse()
		r.Allowed, r.Status, r.Reason = true, http.StatusOK, "OK"
		for _, h := range ok.GetHeaders() {
			r.HeadersSet[h.GetHeader().GetKey()] = headerValue(h.GetHeader().GetValue(), h.GetHeader().GetRawValue())
		}
		r.HeadersRemoved = append(r.HeadersRemoved, ok.GetHeadersToRemove()...)
		r.QueryRemoved = append(r.QueryRemoved, ok.GetQueryParametersToRemove()...)
		for _, h := range ok.GetResponseHeadersToAdd() {
			addHeader(r.ResponseHeaders, h.GetHeader().GetKey(), headerValue(h.GetHeader().GetValue(), h.GetHeader().GetRawValue()))
		}
		return r
	}
	den := resp.GetDeniedResponse()
	r.Status = int(den.GetStatus().GetCode())
	if r.Status == 0 {
		r.Status = http.StatusForbidden
	}
	for _, h := range den.GetHeaders() {
		addHeader(r.ResponseHeaders, h.GetHeader().GetKey(), headerValue(h.GetHeader().GetValue(), h.GetHeader().GetRawValue()))
	}
	var body struct{ Code, Message string }
	if json.Unmarshal([]byte(den.GetBody()), &body) == nil {
		r.Reason, r.Message = body.Code, body.Message
	} else {
		r.Message = den.GetBody()
	}
	if r.Reason == "" {
		r.Reason = r.ResponseHeaders[extauthz.HeaderError]
	}
	return r
}

func headerValue(v string, raw []byte) string {
	if v == "" && len(raw) > 0 {
		return string(raw)
	}
	return v
}

// writeCheckResult prints r: one JSON object with -o json, else a first
// line "ALLOW" or "DENY <status> <reason>: <message>" and the mutations.
func writeCheckResult(w io.Writer, output string, r checkResult) error {
	if output == "json" {
		return json.NewEncoder(w).Encode(r)
	}
	var b strings.Builder
	if r.Allowed {
		b.WriteString("ALLOW\n")
	} else {
		fmt.Fprintf(&b, "DENY %d %s: %s\n", r.Status, printable(r.Reason), printable(r.Message))
	}
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintf(&b, "%s:\n", title)
		for _, l := range lines {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	section("headers set upstream", headerLines(r.HeadersSet))
	section("headers removed", printableAll(r.HeadersRemoved))
	section("query params removed", printableAll(r.QueryRemoved))
	section("response headers", headerLines(r.ResponseHeaders))
	_, err := io.WriteString(w, b.String())
	return err
}

func headerLines(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	lines := make([]string, 0, len(names))
	for _, k := range names {
		lines = append(lines, printable(k)+": "+printable(m[k]))
	}
	return lines
}

func printableAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = printable(x)
	}
	return out
}

// printable keeps control characters (terminal escapes) a server could put
// in a value off the terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// addHeader records a response header; a repeated one (several
// www-authenticate challenges) is combined with ", " as HTTP allows, so
// no challenge is lost from the output.
func addHeader(m map[string]string, name, value string) {
	if prev, ok := m[name]; ok {
		value = prev + ", " + value
	}
	m[name] = value
}
