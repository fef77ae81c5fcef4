package authz

// SKELETON: detectBearer is filled in by the OAuth2 (issue 4) work.

func detectBearer(r *Request) *credential { return nil }
