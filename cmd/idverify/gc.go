package main

import (
	"os"
	"runtime/debug"
)

// serveGCPercent is the garbage collector's target `serve` runs with when the environment sets
// none (GOGC): a collection once the heap has grown to five times what the last one left live,
// not twice. The service's live heap is small (tens of MB: sessions live in the store, not in
// memory) and its garbage is per request, so at Go's default it collected about five times a
// second under load, and its mark phases were a sixth of the CPU and began about half of the
// slow steps measured (docs/BENCHMARKS.md). The price is memory: the heap peaks near five times
// the live heap instead of twice, about 100 MB under load. GOGC, and GOMEMLIMIT, still set it.
const serveGCPercent = 400

// tuneGC sets serveGCPercent unless GOGC is set, and returns what undoes it.
func tuneGC() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	previous := debug.SetGCPercent(serveGCPercent)
	return func() { debug.SetGCPercent(previous) }
}
