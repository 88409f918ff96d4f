//go:build race

package outbox

// raceSlowdown scales throughput floors: the race detector makes the
// pure-Go SQLite and the HTTP stack several times slower.
const raceSlowdown = 8
