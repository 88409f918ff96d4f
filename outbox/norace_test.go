//go:build !race

package outbox

const raceSlowdown = 1
