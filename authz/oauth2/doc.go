// Package oauth2 is appauthz's OAuth2 token endpoint: the client
// credentials grant (RFC 6749 §4.4) at POST /oauth2/token and token
// revocation (RFC 7009) at POST /oauth2/revoke. A client authenticates with
// an app_key and its app_secret, by HTTP Basic or form fields, and gets an
// opaque 256-bit bearer token that authzd's Check accepts on APIs allowing
// the oauth2 method. Tokens are stored by SHA-256 only, through Backend.
//
// Failed client authentications are counted per app_key and per source
// address; past the limit the endpoint answers 429 without checking the
// secret, so it cannot be used to guess secrets (docs/oauth2.md).
package oauth2
