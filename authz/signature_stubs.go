package authz

// SKELETON: detectHMAC, detectParamSign and detectBearer are filled in by
// the signature (issue 3) and OAuth2 (issue 4) work.

func detectHMAC(r *Request) *credential                     { return nil }
func detectParamSign(r *Request, q []QueryParam) *credential { return nil }
func detectBearer(r *Request) *credential                   { return nil }
