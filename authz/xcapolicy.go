package authz

import (
	"fmt"
	"strings"
	"time"
)

// XCATimestampPolicy is what an xca API requires of X-Ca-Timestamp.
type XCATimestampPolicy string

// Timestamp policies. Alibaba's Node SDK signs X-Ca-Timestamp; the Java and
// PHP demos send it but leave it out of X-Ca-Signature-Headers unless told
// to sign it, so such clients need "required".
const (
	// XCATimestampRequiredSigned: present, within the window, and listed
	// in X-Ca-Signature-Headers (the default: an unsigned timestamp can be
	// refreshed by anyone who captured the request).
	XCATimestampRequiredSigned XCATimestampPolicy = "required-signed"
	// XCATimestampRequired: present and within the window.
	XCATimestampRequired XCATimestampPolicy = "required"
	// XCATimestampOptional: checked when sent.
	XCATimestampOptional XCATimestampPolicy = "optional"
)

// ParseXCATimestampPolicy validates a policy name.
func ParseXCATimestampPolicy(s string) (XCATimestampPolicy, error) {
	switch p := XCATimestampPolicy(strings.ToLower(s)); p {
	case XCATimestampRequiredSigned, XCATimestampRequired, XCATimestampOptional:
		return p, nil
	}
	return "", fmt.Errorf("unknown xca timestamp policy %q: use required-signed, required or optional", s)
}

// XCANoncePolicy is what an xca API requires of X-Ca-Nonce. A nonce that
// is sent is always single-use, whatever the policy.
type XCANoncePolicy string

// Nonce policies. Alibaba's Java demo sends no nonce, hence the default.
const (
	XCANonceRequired XCANoncePolicy = "required"
	XCANonceOptional XCANoncePolicy = "optional"
)

// ParseXCANoncePolicy validates a policy name.
func ParseXCANoncePolicy(s string) (XCANoncePolicy, error) {
	switch p := XCANoncePolicy(strings.ToLower(s)); p {
	case XCANonceRequired, XCANonceOptional:
		return p, nil
	}
	return "", fmt.Errorf("unknown xca nonce policy %q: use required or optional", s)
}

// XCADefaultClockSkew is Alibaba API Gateway's X-Ca-Timestamp window, used
// by xca when the API sets no clock skew (api create gives an xca API this
// default).
const XCADefaultClockSkew = 15 * time.Minute

// xcaTimestampPolicy is the API's policy with the default filled in.
func (a *API) xcaTimestampPolicy() XCATimestampPolicy {
	if a.XCATimestamp == "" {
		return XCATimestampRequiredSigned
	}
	return a.XCATimestamp
}

// xcaNonceRequired reports whether the API requires X-Ca-Nonce.
func (a *API) xcaNonceRequired() bool { return a.XCANonce == XCANonceRequired }

// xcaSkew is the API's X-Ca-Timestamp window.
func xcaSkew(api *API) time.Duration {
	if api.ClockSkew > 0 {
		return min(api.ClockSkew, MaxClockSkew)
	}
	return XCADefaultClockSkew
}
