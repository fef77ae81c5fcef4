// Package sign is the client side of appauthz's signature methods: it
// builds the Date, Digest and Authorization headers of an `hmac` request
// (Kong hmac-auth compatible) and the signed URL, form body or JSON
// envelope of a `paramsign` request.
//
// It is what `authzctl sign` prints and what the tests use to round-trip
// with the verifier in package authz. It imports nothing of appauthz, so a
// Go client can vendor it as is; docs/clients.md shows the same algorithms
// in a few lines of stdlib Go and in curl with openssl.
package sign
