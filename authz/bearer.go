package authz

// detectBearer finds an OAuth2 bearer token (RFC 6750 §2.1):
// `Authorization: Bearer <token>`. The token is looked up by its SHA-256
// only; tokens are opaque, so any token68 value is looked up and an
// unknown one is InvalidToken.
func detectBearer(r *Request) *credential {
	scheme, tok := authScheme(r.Header("authorization"))
	if scheme != "bearer" {
		return nil
	}
	if tok == "" || !isToken68(tok) {
		return badCredential(MethodOAuth2, ReasonBadRequest, "the Bearer token is empty or not a token68 value (RFC 6750 §2.1)", "authorization")
	}
	return &credential{method: MethodOAuth2, tokenHash: HashToken(tok), headers: []string{"authorization"}}
}

// HashToken is the SHA-256 hex under which an access token is stored
// (token:{hash}); the token itself is never stored.
func HashToken(tok string) string {
	return sha256Hex(tok)
}

// isToken68 reports whether s is an RFC 7235 token68: 1*( ALPHA / DIGIT /
// "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
