package extauthz

import (
	"encoding/json"
	"slices"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/appauthz/appauthz/authz"
)

// Header names of the contract (ARCHITECTURE.md §5).
const (
	HeaderError           = "x-appauthz-error"
	headerContentType     = "content-type"
	headerWWWAuthenticate = "www-authenticate"
)

// defaultChallenge is the www-authenticate of a 401 whose decision named
// none: RFC 9110 requires a challenge on every 401. The core normally gives
// a method-specific one (Bearer for tokens, hmac for signatures).
const defaultChallenge = `APPCODE realm="appauthz"`

// ToResponse maps a Decision onto Envoy's CheckResponse. It is mechanical:
// the core has already chosen what to strip and set.
//
// Every header mutation sets append_action OVERWRITE_IF_EXISTS_OR_ADD and
// leaves the deprecated append unset, which overwrites on every Envoy
// version (ENVOY-FACTS §3.2). A denial is a CheckResponse with a non-OK
// status — Envoy sends the DeniedHttpResponse as a local reply and never
// applies failure_mode_allow to it.
func ToResponse(d authz.Decision) *authv3.CheckResponse {
	if d.Allow {
		return allowResponse(d)
	}
	return denyResponse(d)
}

func allowResponse(d authz.Decision) *authv3.CheckResponse {
	if !validNames(d.HeadersToRemove) || !validNames(d.QueryToRemove) {
		// Only a hand-made CheckRequest can get here (Envoy sends UTF-8
		// names). A name Envoy cannot be told to remove might be a
		// credential: fail closed rather than allow it through.
		return denyResponse(authz.Decision{Reason: authz.ReasonBadRequest,
			Message: "a header or query parameter name is not valid UTF-8; send names in UTF-8"})
	}
	ok := &authv3.OkHttpResponse{
		Headers:                 overwriteAll(d.HeadersToSet),
		HeadersToRemove:         removals(d.HeadersToRemove, d.HeadersToSet),
		QueryParametersToRemove: slices.Clone(d.QueryToRemove),
		ResponseHeadersToAdd:    options(d.ResponseHeaders),
	}
	return &authv3.CheckResponse{
		Status:          &rpcstatus.Status{Code: int32(codes.OK)},
		HttpResponse:    &authv3.CheckResponse_OkResponse{OkResponse: ok},
		DynamicMetadata: identityMetadata(d.Identity),
	}
}

// denyBody is the JSON body of every denial.
type denyBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func denyResponse(d authz.Decision) *authv3.CheckResponse {
	reason := d.Reason
	if reason == "" || reason == authz.ReasonOK {
		// A deny without a reason is a core bug; still a deny.
		reason = authz.ReasonNotAuthorized
	}
	status := d.Status()
	if status < 400 {
		status = reason.HTTPStatus()
	}
	code := typev3.StatusCode(status)
	if _, known := typev3.StatusCode_name[int32(code)]; !known || status < 400 {
		// Envoy's HttpStatus must be a defined enum value.
		code = typev3.StatusCode_Forbidden
	}
	msg := d.Message
	if msg == "" {
		msg = reason.DefaultMessage()
	}
	body, err := json.Marshal(denyBody{Code: string(reason), Message: msg})
	if err != nil { // cannot happen for two strings; keep the deny anyway
		body = []byte(`{"code":"` + string(authz.ReasonBadRequest) + `"}`)
	}

	headers := []*corev3.HeaderValueOption{
		overwrite(HeaderError, string(reason)),
		overwrite(headerContentType, "application/json"),
	}
	challenged := false
	for _, h := range d.ResponseHeaders {
		if h.Name == HeaderError || h.Name == headerContentType {
			continue // the contract fixes these two
		}
		challenged = challenged || h.Name == headerWWWAuthenticate
		headers = append(headers, overwrite(h.Name, h.Value))
	}
	if code == typev3.StatusCode_Unauthorized && !challenged {
		headers = append(headers, overwrite(headerWWWAuthenticate, defaultChallenge))
	}

	grpcCode := codes.PermissionDenied
	if code == typev3.StatusCode_Unauthorized {
		grpcCode = codes.Unauthenticated
	}
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(grpcCode), Message: headerSafe(string(reason))},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: code},
			Headers: headers,
			Body:    string(body),
		}},
	}
}

// overwrite is the portable "set this header" mutation.
func overwrite(name, value string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: headerSafe(name), Value: headerSafe(value)},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

// overwriteAll is overwrite for every header, with the messages allocated
// in two blocks rather than two per header: this runs on every allow.
func overwriteAll(hs []authz.HeaderValue) []*corev3.HeaderValueOption {
	if len(hs) == 0 {
		return nil
	}
	opts := make([]corev3.HeaderValueOption, len(hs))
	vals := make([]corev3.HeaderValue, len(hs))
	out := make([]*corev3.HeaderValueOption, len(hs))
	for i, h := range hs {
		vals[i].Key, vals[i].Value = headerSafe(h.Name), headerSafe(h.Value)
		opts[i].Header = &vals[i]
		opts[i].AppendAction = corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD
		out[i] = &opts[i]
	}
	return out
}

// removals is names sorted, without duplicates and without the headers
// set: Envoy applies headers_to_remove after the header mutations, so a
// name in both would strip the trusted header we just set. Sorting keeps
// it O(n log n) where a scan per name would be quadratic in a request
// that brings hundreds of x-appauthz-* headers.
func removals(names []string, set []authz.HeaderValue) []string {
	if len(names) == 0 {
		return nil
	}
	out := slices.Clone(names)
	slices.Sort(out)
	out = slices.Compact(out)
	isSet := func(name string) bool {
		return slices.ContainsFunc(set, func(h authz.HeaderValue) bool { return h.Name == name })
	}
	if len(set) > 8 { // the core sets a handful; stay linear if that changes
		m := make(map[string]bool, len(set))
		for _, h := range set {
			m[h.Name] = true
		}
		isSet = func(name string) bool { return m[name] }
	}
	return slices.DeleteFunc(out, isSet)
}

func options(hs []authz.HeaderValue) []*corev3.HeaderValueOption {
	if len(hs) == 0 {
		return nil
	}
	out := make([]*corev3.HeaderValueOption, 0, len(hs))
	for _, h := range hs {
		out = append(out, overwrite(h.Name, h.Value))
	}
	return out
}

// identityMetadata is CheckResponse.dynamic_metadata: Envoy stores it under
// the envoy.filters.http.ext_authz namespace for access logs and rate limits.
// Its values are allocated in blocks, as overwriteAll's are.
func identityMetadata(id authz.Identity) *structpb.Struct {
	n := 5 + len(id.Scopes)
	vals := make([]structpb.Value, n+1) // the strings, then the scope list
	strs := make([]structpb.Value_StringValue, n)
	str := func(i int, s string) *structpb.Value {
		strs[i].StringValue = headerSafe(s)
		vals[i].Kind = &strs[i]
		return &vals[i]
	}
	var scopes []*structpb.Value
	if len(id.Scopes) > 0 {
		scopes = make([]*structpb.Value, len(id.Scopes))
		for i, s := range id.Scopes {
			scopes[i] = str(5+i, s)
		}
	}
	list := &scopeList{}
	list.l.Values = scopes
	list.v.ListValue = &list.l
	vals[n].Kind = &list.v
	return &structpb.Struct{Fields: map[string]*structpb.Value{
		"app_id":   str(0, id.AppID),
		"app_name": str(1, id.AppName),
		"key_id":   str(2, id.KeyID),
		"method":   str(3, string(id.Method)),
		"api":      str(4, id.API),
		"scopes":   &vals[n],
	}}
}

// scopeList is the scopes value of the metadata in one allocation.
type scopeList struct {
	v structpb.Value_ListValue
	l structpb.ListValue
}
