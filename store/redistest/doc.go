// Package redistest runs a real redis-server for tests: on a free loopback
// port, without persistence, stopped when the test ends. Tests that need
// Redis fail loudly when redis-server is missing; they never skip.
// CountingHook counts a client's round trips, for the tests and benchmarks
// that hold a Check to its round-trip budget.
package redistest
