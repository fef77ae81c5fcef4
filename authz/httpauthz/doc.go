// Package httpauthz is appauthz's HTTP authorization adapter: the protocol
// Envoy's ext_authz http_service, nginx auth_request, Caddy forward_auth
// and Traefik ForwardAuth speak. The proxy sends the original request (or
// a description of it in X-Forwarded-* / X-Original-* headers) to authzd;
// a 200 lets it through with the identity headers to copy upstream, any
// other status is the answer the client gets.
//
// It knows no Envoy or gRPC types. A request is turned into the same
// authz.Request the gRPC adapter builds, decided by the same decision core
// (authz.Engine), and the Decision is mapped onto HTTP with the same rules
// as the gRPC path: on deny the status, x-appauthz-error, a JSON body
// {"code","message"} and www-authenticate on 401s; on allow the identity
// headers, x-envoy-auth-headers-to-remove naming the headers to strip and
// X-Appauthz-Upstream-Uri, the request URI without its credential query
// parameters.
//
// Two endpoints share one listener:
//   - PathForward ("/auth"): forward auth. The original request is
//     described by X-Forwarded-Method/-Uri/-Host/-Proto/-For (Caddy,
//     Traefik) or X-Original-Method/-URI (nginx), which are read only from
//     a trusted proxy; anything else is refused. The body is never read.
//   - EnvoyPrefix ("/envoy"): Envoy's http_service with path_prefix
//     "/envoy". The request is the original request with that prefix in
//     front of its path, the allowed headers and, with with_request_body,
//     its body. The API is resolved from the route table: Envoy passes
//     client headers through, so X-Appauthz-Api is not believed there.
package httpauthz
