package main

import "runtime/debug"

// defaultGCPercent is authzd's GOGC when the environment sets none. A
// Check allocates a few KiB (mostly protobuf and HTTP/2 frames) against a
// live heap of a few MiB, so with Go's default of 100 the collector runs
// dozens of times a second and takes ~10 % of a core under load. At 400
// the heap may grow to about five times the live data (measured: peak RSS
// 28 → 39 MiB) for ~20 % more Checks per core (docs/performance.md).
// GOGC and GOMEMLIMIT in the environment still win.
const defaultGCPercent = 400

// tuneGC applies defaultGCPercent unless GOGC is set.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
}
