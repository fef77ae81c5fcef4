package sign

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// DefaultAlgorithm is the HMAC algorithm used when none is chosen.
const DefaultAlgorithm = "hmac-sha256"

var hashes = map[string]func() hash.Hash{
	"hmac-sha1":   sha1.New,
	"hmac-sha256": sha256.New,
	"hmac-sha384": sha512.New384,
	"hmac-sha512": sha512.New,
}

// HMAC signs requests with one app key.
type HMAC struct {
	Key, Secret string
	// Algorithm is hmac-sha1, hmac-sha256, hmac-sha384 or hmac-sha512;
	// "" is DefaultAlgorithm.
	Algorithm string
	// Headers lists what is signed, in order, lowercase; "request-line" is
	// the request line. nil signs "date request-line", plus "digest" when
	// there is a body.
	Headers []string
	// Protocol written in the request-line; "" is HTTP/1.1, which the
	// server accepts whatever protocol reached it (except HTTP/1.0).
	Protocol string
	// Now is the signing time; zero is time.Now().
	Now time.Time
}

// HMACRequest is the request to sign.
type HMACRequest struct {
	Method string
	// RequestURI is the path and query exactly as they will be sent.
	RequestURI string
	Host       string
	// Header holds the other headers the request sends; a listed header
	// is signed with its value here. A Date, X-Date or Digest here is used
	// as is.
	Header http.Header
	Body   []byte
}

// HMACHeaders are the headers to add to the request.
type HMACHeaders struct {
	DateName      string // "Date" or "X-Date"
	Date          string
	Digest        string // "" without a body
	Authorization string
	// SigningString is what was signed, for debugging a mismatch; it holds
	// no secret.
	SigningString string
}

// Apply sets the headers on h.
func (s HMACHeaders) Apply(h http.Header) {
	h.Set(s.DateName, s.Date)
	if s.Digest != "" {
		h.Set("Digest", s.Digest)
	}
	h.Set("Authorization", s.Authorization)
}

// Sign computes the headers for r.
func (s HMAC) Sign(r HMACRequest) (HMACHeaders, error) {
	alg := s.Algorithm
	if alg == "" {
		alg = DefaultAlgorithm
	}
	newHash := hashes[alg]
	if newHash == nil {
		return HMACHeaders{}, fmt.Errorf("unknown HMAC algorithm %q: use hmac-sha1, hmac-sha256, hmac-sha384 or hmac-sha512", alg)
	}
	if s.Key == "" || s.Secret == "" {
		return HMACHeaders{}, fmt.Errorf("an HMAC signature needs an app key and its secret")
	}
	if strings.ContainsAny(s.Key, "\"\r\n") {
		return HMACHeaders{}, fmt.Errorf("the app key must not contain quotes or line breaks")
	}
	names := s.Headers
	if names == nil {
		names = []string{"date", "request-line"}
		if len(r.Body) > 0 {
			names = append(names, "digest")
		}
	}
	if len(names) == 0 {
		return HMACHeaders{}, fmt.Errorf("list at least one header to sign, e.g. date request-line")
	}
	proto := s.Protocol
	if proto == "" {
		proto = "HTTP/1.1"
	}

	out := HMACHeaders{DateName: "Date"}
	if slices.Contains(names, "x-date") && !slices.Contains(names, "date") {
		out.DateName = "X-Date"
	}
	if out.Date = r.Header.Get(out.DateName); out.Date == "" {
		now := s.Now
		if now.IsZero() {
			now = time.Now()
		}
		out.Date = now.UTC().Format(http.TimeFormat) // always GMT
	}
	if out.Digest = r.Header.Get("Digest"); out.Digest == "" && (len(r.Body) > 0 || slices.Contains(names, "digest")) {
		out.Digest = Digest(r.Body)
	}

	lines := make([]string, len(names))
	for i, name := range names {
		var v string
		switch strings.ToLower(name) {
		case "request-line":
			lines[i] = r.Method + " " + r.RequestURI + " " + proto
			continue
		case "host":
			v = r.Host
			if v == "" {
				v = r.Header.Get("Host")
			}
		case strings.ToLower(out.DateName):
			v = out.Date
		case "digest":
			v = out.Digest
		default:
			vs, ok := r.Header[http.CanonicalHeaderKey(name)]
			if !ok {
				return HMACHeaders{}, fmt.Errorf("header %q is listed to be signed but the request does not set it", name)
			}
			v = strings.Join(vs, ",") // as Envoy joins repeated headers
		}
		lines[i] = name + ": " + v
	}
	out.SigningString = strings.Join(lines, "\n")
	mac := hmac.New(newHash, []byte(s.Secret))
	io.WriteString(mac, out.SigningString)
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	out.Authorization = fmt.Sprintf(`hmac appkey="%s", algorithm="%s", headers="%s", signature="%s"`, s.Key, alg, strings.Join(names, " "), sig)
	return out, nil
}

// SignRequest signs an outgoing *http.Request in place: it reads the body
// through GetBody (so the request can still be sent) and sets Date,
// Digest and Authorization.
func (s HMAC) SignRequest(req *http.Request) error {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return fmt.Errorf("the request body cannot be re-read: build the request with a bytes.Reader, bytes.Buffer or strings.Reader body")
		}
		rc, err := req.GetBody()
		if err != nil {
			return err
		}
		defer rc.Close()
		if body, err = io.ReadAll(rc); err != nil {
			return err
		}
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host // what net/http sends as Host then
	}
	h, err := s.Sign(HMACRequest{Method: req.Method, RequestURI: req.URL.RequestURI(), Host: host, Header: req.Header, Body: body})
	if err != nil {
		return err
	}
	h.Apply(req.Header)
	return nil
}

// Digest is the Digest header value of body: SHA-256, standard base64.
func Digest(body []byte) string {
	sum := sha256.Sum256(body)
	return "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
}
