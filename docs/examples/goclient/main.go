// Command goclient calls an API protected by appauthz with an HMAC or a
// parameter signature, using only the Go standard library. Copy the two
// signing functions into your client; docs/clients.md explains them.
//
//	go run ./docs/examples/goclient -key K -secret S -method POST -data '{"name":"bob"}' 'https://api.example.com/orders?id=7'
//	go run ./docs/examples/goclient -mode paramsign -key K -secret S 'https://api.example.com/coupons?param1=123'
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// signHMAC adds Date, Digest (with a body) and Authorization to req.
// body must be what req sends.
func signHMAC(req *http.Request, body []byte, appKey, appSecret string) {
	// The date is always GMT: http.TimeFormat after UTC(). A local zone
	// (Europe/London is BST in summer) is refused by the server.
	date := time.Now().UTC().Format(http.TimeFormat)
	req.Header.Set("Date", date)

	headers := "date request-line"
	// The request-line is the path and query exactly as sent.
	lines := []string{"date: " + date, req.Method + " " + req.URL.RequestURI() + " HTTP/1.1"}
	if len(body) > 0 {
		sum := sha256.Sum256(body)
		digest := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:]) // base64, not hex
		req.Header.Set("Digest", digest)
		headers += " digest"
		lines = append(lines, "digest: "+digest)
	}
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write([]byte(strings.Join(lines, "\n"))) // no trailing newline
	signature := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	req.Header.Set("Authorization", fmt.Sprintf(`hmac appkey="%s", algorithm="hmac-sha256", headers="%s", signature="%s"`, appKey, headers, signature))
}

// signParams returns rawURL with appKey, apiTimestamp and sign added to
// its query: every parameter but sign, sorted by name, joined as
// name=value with & (decoded values, no encoding), the secret appended,
// SHA-512 in lowercase hex.
func signParams(rawURL, appKey, appSecret string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	q := u.Query() // decoded; '+' is a space
	q.Set("appKey", appKey)
	q.Set("apiTimestamp", strconv.FormatInt(time.Now().Unix(), 10))
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names) // byte order
	var pairs []string
	for _, name := range names {
		for _, v := range q[name] { // repeated names keep their order
			pairs = append(pairs, name+"="+v)
		}
	}
	sum := sha512.Sum512([]byte(strings.Join(pairs, "&") + appSecret))
	q.Set("sign", hex.EncodeToString(sum[:]))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func main() {
	err := run(os.Args[1:], os.Stdout)
	switch {
	case errors.Is(err, flag.ErrHelp): // -h: the usage was asked for
	case err != nil:
		fmt.Fprintln(os.Stderr, "goclient:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("goclient", flag.ContinueOnError)
	mode := fs.String("mode", "hmac", "hmac or paramsign")
	// Empty defaults, the environment read after parsing: -h prints the
	// defaults, and must never print a secret.
	key := fs.String("key", "", "app key (default: env APP_KEY)")
	secret := fs.String("secret", "", "app secret (default: env APP_SECRET)")
	method := fs.String("method", "GET", "HTTP method")
	data := fs.String("data", "", "request body (hmac mode)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *key == "" {
		*key = os.Getenv("APP_KEY")
	}
	if *secret == "" {
		*secret = os.Getenv("APP_SECRET")
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("give one URL")
	}
	target := fs.Arg(0)

	var req *http.Request
	var err error
	switch *mode {
	case "hmac":
		body := []byte(*data)
		if req, err = http.NewRequest(*method, target, bytes.NewReader(body)); err != nil {
			return err
		}
		if len(body) > 0 {
			req.Header.Set("Content-Type", "application/json")
		}
		signHMAC(req, body, *key, *secret)
	case "paramsign":
		signed, err := signParams(target, *key, *secret)
		if err != nil {
			return err
		}
		if req, err = http.NewRequest(*method, signed, nil); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown -mode %q: use hmac or paramsign", *mode)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s\n%s\n", resp.Status, respBody)
	return nil
}
