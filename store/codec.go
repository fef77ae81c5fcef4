package store

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/appauthz/appauthz/authz"
)

// This file converts between authz model values and Redis hash fields.
// Lists are comma-separated; times are unix seconds ("0" or absent = none;
// expiries are encoded in expiry.go).

func joinList(xs []string) string { return strings.Join(xs, ",") }

func unixString(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.Unix(), 10)
}

// parseUnix reads a unix-seconds field; "" and "0" are the zero time.
func parseUnix(field, v string) (time.Time, error) {
	if v == "" || v == "0" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("field %s is not unix seconds: %q", field, v)
	}
	return time.Unix(n, 0).UTC(), nil
}

func statusOr(v string) authz.Status {
	if v == "" {
		return authz.StatusActive
	}
	return authz.Status(v)
}

// --- apps ---

func decodeApp(id string, h map[string]string) *authz.App {
	if len(h) == 0 {
		return nil
	}
	return &authz.App{ID: id, Name: h["name"], Status: statusOr(h["status"])}
}

// --- keys ---

func encodeKey(k authz.Key, created time.Time) map[string]any {
	methods := make([]string, len(k.Methods))
	for i, m := range k.Methods {
		methods[i] = string(m)
	}
	return map[string]any{
		"key_id":     k.KeyID,
		"app_id":     k.AppID,
		"secret":     k.Secret,
		"scopes":     joinList(k.Scopes),
		"methods":    joinList(methods),
		"status":     string(statusOr(string(k.Status))),
		"expires_at": encodeExpiry(k.ExpiresAt),
		"created_at": unixString(created),
	}
}

// decodeKey reads a key record; hash is authz.HashAppKey of its app_key.
// A format-1 record has no key_id: it gets the one the migration will give
// it (legacyKeyID), so the upstream sees the same id before and after.
func decodeKey(hash string, h map[string]string) (*authz.Key, error) {
	if len(h) == 0 {
		return nil, nil
	}
	exp, err := decodeExpiry("expires_at", h["expires_at"])
	if err != nil {
		return nil, fmt.Errorf("key record %s…: %w", hash[:min(12, len(hash))], err)
	}
	k := &authz.Key{
		KeyID:     h["key_id"],
		AppID:     h["app_id"],
		Secret:    h["secret"],
		Scopes:    authz.SplitList(h["scopes"]),
		Status:    statusOr(h["status"]),
		ExpiresAt: exp,
	}
	if k.KeyID == "" {
		k.KeyID = legacyKeyID(hash)
	}
	if v := h["methods"]; v != "" {
		if k.Methods, err = authz.ParseMethods(v); err != nil {
			// Fail closed: a key whose restriction cannot be read is
			// refused rather than let loose on every method.
			return nil, fmt.Errorf("key %s: field methods has a bad value %q: revoke the key and create it again", k.KeyID, v)
		}
	}
	return k, nil
}

// --- AppCodes ---

func decodeAppCode(h map[string]string) *authz.AppCodeRecord {
	if len(h) == 0 || h["app_id"] == "" {
		return nil
	}
	return &authz.AppCodeRecord{AppID: h["app_id"], Status: statusOr(h["status"])}
}

// --- tokens ---

// tokenJSON is the value of token:{sha256hex}. KeyHash names the key's
// record and token index; format 1 held the app_key itself (AppKey), which
// only the migration still reads.
type tokenJSON struct {
	AppID   string   `json:"app_id"`
	KeyID   string   `json:"key_id,omitempty"`
	KeyHash string   `json:"key_hash,omitempty"`
	AppKey  string   `json:"app_key,omitempty"`
	Scopes  []string `json:"scopes"`
}

// keyHash is the record hash of the token's key, whichever format wrote it.
func (t tokenJSON) keyHash() string {
	if t.KeyHash == "" && t.AppKey != "" {
		return authz.HashAppKey(t.AppKey)
	}
	return t.KeyHash
}

func decodeToken(hash, v string) (*authz.Token, error) {
	var t tokenJSON
	if err := json.Unmarshal([]byte(v), &t); err != nil {
		return nil, fmt.Errorf("token %s…: not JSON: %w", hash[:min(8, len(hash))], err)
	}
	if t.AppID == "" {
		return nil, nil
	}
	kid := t.KeyID
	if kid == "" && t.AppKey != "" {
		kid = legacyKeyID(t.keyHash())
	}
	return &authz.Token{AppID: t.AppID, KeyID: kid, Scopes: t.Scopes}, nil
}

// --- grants ---

func decodeGrant(v string) (*authz.Grant, error) {
	exp, err := decodeExpiry("expires_at", v)
	if err != nil {
		return nil, err
	}
	return &authz.Grant{ExpiresAt: exp}, nil
}

// --- APIs ---

// encodeAPI writes every field, so an update is a full replace. api must
// be normalized (see normalizeAPI).
func encodeAPI(a authz.API, created time.Time) map[string]any {
	methods := make([]string, len(a.Methods))
	for i, m := range a.Methods {
		methods[i] = string(m)
	}
	return map[string]any{
		"methods":            joinList(methods),
		"appcode_mode":       string(a.AppCodeMode),
		"access":             string(a.Access),
		"clock_skew":         strconv.FormatFloat(a.ClockSkew.Seconds(), 'f', -1, 64),
		"scopes":             joinList(a.Scopes),
		"method_scopes":      authz.FormatMethodScopes(a.MethodScopes),
		"hmac_algorithms":    joinList(a.HMACAlgorithms),
		"enforce_headers":    joinList(a.EnforceHeaders),
		"replay":             onOff(a.ReplayProtection),
		"timestamp_required": strconv.FormatBool(a.TimestampRequired),
		"xca_timestamp":      string(a.XCATimestamp),
		"xca_nonce":          string(a.XCANonce),
		"host":               a.Route.Host,
		"path_prefix":        a.Route.PathPrefix,
		"route_methods":      joinList(a.Route.Methods),
		"created_at":         unixString(created),
		"rate":               a.Limits.Rate.String(),
		"burst":              burstString(a.Limits.Rate.Burst),
		"quota":              authz.FormatQuota(a.Limits.Quota),
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// decodeAPI reads an API hash; nil when it does not exist. Absent fields
// take the contract's defaults, so hashes written by hand or by older
// versions still work.
func decodeAPI(id string, h map[string]string) (*authz.API, error) {
	if len(h) == 0 {
		return nil, nil
	}
	bad := func(field string) error {
		return fmt.Errorf("api %q: field %s has a bad value %q: fix it with `authzctl api update %s`", id, field, h[field], id)
	}
	a := &authz.API{
		ID:                id,
		AppCodeMode:       authz.AppCodeHeader,
		Access:            authz.AccessAuthorized,
		ClockSkew:         authz.DefaultClockSkew,
		Scopes:            authz.SplitList(h["scopes"]),
		HMACAlgorithms:    authz.SplitList(h["hmac_algorithms"]),
		EnforceHeaders:    authz.SplitList(h["enforce_headers"]),
		ReplayProtection:  true,
		TimestampRequired: false,
		Route: authz.Route{
			API:        id,
			Host:       h["host"],
			PathPrefix: h["path_prefix"],
			Methods:    authz.SplitList(h["route_methods"]),
		},
	}
	if v := h["methods"]; v != "" {
		ms, err := authz.ParseMethods(v)
		if err != nil {
			return nil, bad("methods")
		}
		a.Methods = ms
	}
	if v := h["appcode_mode"]; v != "" {
		m, err := authz.ParseAppCodeMode(v)
		if err != nil {
			return nil, bad("appcode_mode")
		}
		a.AppCodeMode = m
	}
	if v := h["access"]; v != "" {
		ac, err := authz.ParseAccess(v)
		if err != nil {
			return nil, bad("access")
		}
		a.Access = ac
	}
	if v := h["clock_skew"]; v != "" {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || secs < 0 || secs > maxClockSkew.Seconds() {
			return nil, bad("clock_skew")
		}
		if secs > 0 {
			a.ClockSkew = time.Duration(secs * float64(time.Second))
		}
	}
	switch strings.ToLower(h["replay"]) {
	case "", "on", "true", "1":
	case "off", "false", "0":
		a.ReplayProtection = false
	default:
		return nil, bad("replay")
	}
	if v := h["timestamp_required"]; v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, bad("timestamp_required")
		}
		a.TimestampRequired = b
	}
	if v := h["xca_timestamp"]; v != "" {
		p, err := authz.ParseXCATimestampPolicy(v)
		if err != nil {
			return nil, bad("xca_timestamp")
		}
		a.XCATimestamp = p
	}
	if v := h["xca_nonce"]; v != "" {
		p, err := authz.ParseXCANoncePolicy(v)
		if err != nil {
			return nil, bad("xca_nonce")
		}
		a.XCANonce = p
	}
	ms, err := authz.ParseMethodScopes(h["method_scopes"])
	if err != nil {
		return nil, bad("method_scopes")
	}
	a.MethodScopes = ms
	limits, field, err := decodeAPILimits(h)
	if err != nil {
		return nil, bad(field)
	}
	a.Limits = limits
	return a, nil
}

// apiCreatedAt reads the created_at field kept across updates.
func apiCreatedAt(h map[string]string) time.Time {
	t, _ := parseUnix("created_at", h["created_at"])
	return t
}

// --- routes ---

// routeJSON is the value of one field of the routes hash.
type routeJSON struct {
	API        string   `json:"api"`
	Host       string   `json:"host,omitempty"`
	PathPrefix string   `json:"path_prefix,omitempty"`
	Methods    []string `json:"methods,omitempty"`
}

func encodeRoute(r authz.Route) string {
	b, _ := json.Marshal(routeJSON{API: r.API, Host: r.Host, PathPrefix: r.PathPrefix, Methods: r.Methods})
	return string(b)
}

func decodeRoutes(h map[string]string) ([]authz.Route, error) {
	out := make([]authz.Route, 0, len(h))
	for apiID, v := range h {
		var r routeJSON
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("route of api %q is not JSON: fix it with `authzctl api update %s`", apiID, apiID)
		}
		if r.API == "" {
			r.API = apiID
		}
		out = append(out, authz.Route{API: r.API, Host: r.Host, PathPrefix: r.PathPrefix, Methods: r.Methods})
	}
	sortRoutes(out)
	return out, nil
}

// hasRoute reports whether an API takes part in route resolution: an API
// with neither host nor path prefix is reachable only by name, otherwise it
// would match every request.
func hasRoute(r authz.Route) bool { return r.Host != "" || r.PathPrefix != "" }
