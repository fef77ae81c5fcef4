package authz

// detectAppKey finds a bare app key: the X-App-Key header or the appKey
// query parameter (the seed's "key authentication").
func detectAppKey(r *Request, q []QueryParam) *credential {
	header := r.Header("x-app-key")
	query, inQuery := "", false
	for _, p := range q {
		if p.Name != "appKey" {
			continue
		}
		if inQuery && p.Value != query {
			return badCredential(MethodKey, ReasonBadRequest, "the appKey query parameter is given more than once with different values")
		}
		query, inQuery = p.Value, true
	}
	switch {
	case header != "" && inQuery && header != query:
		return badCredential(MethodKey, ReasonBadRequest, "X-App-Key header and appKey query parameter disagree: send the key once", "x-app-key")
	case header != "":
		return &credential{method: MethodKey, appKey: header, headers: []string{"x-app-key"}}
	case inQuery && query != "":
		return &credential{method: MethodKey, appKey: query}
	case inQuery:
		return badCredential(MethodKey, ReasonBadRequest, "the appKey query parameter is empty")
	}
	if _, ok := r.Headers["x-app-key"]; ok {
		return badCredential(MethodKey, ReasonBadRequest, "the X-App-Key header is empty", "x-app-key")
	}
	return nil
}
