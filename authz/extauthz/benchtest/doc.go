// Package benchtest holds the benchmarks and tests of the Envoy adapter
// (authz/extauthz) on the real store and a real redis-server: the
// production decision path minus Envoy. They live apart so that the
// adapter's own tests drive it with in-memory stores and do not depend on
// store or Redis.
//
//	go test -run '^$' -bench . -benchmem ./authz/extauthz/benchtest
package benchtest
