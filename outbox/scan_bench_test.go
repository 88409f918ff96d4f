package outbox

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

// Each lane's scan statement reads its own lane (the lane is written into
// the text, see sqlScan).
func TestScanStatementPerLane(t *testing.T) {
	for lane := range Lane(numLanes) {
		if want := "o.lane = " + strconv.Itoa(int(lane)) + " AND"; !strings.Contains(sqlScan(lane), want) {
			t.Errorf("scan of lane %v: %q does not contain %q", lane, sqlScan(lane), want)
		}
	}
}

// BenchmarkScanLanes is one claim cycle's scans (every lane once) on an
// empty queue: "bound" with the lane as a parameter of one statement, as
// the sender did, against one statement per lane ("per-lane", sqlScan).
// With the bound lane SQLite re-prepares the statement at every scan,
// because the value it planned with changed.
func BenchmarkScanLanes(b *testing.B) {
	bound := scanHead + "?" + scanTail
	cases := []struct {
		name string
		scan func(lane Lane) (string, []any)
	}{
		{"bound", func(lane Lane) (string, []any) { return bound, []any{int(lane), scanLimit} }},
		{"per-lane", func(lane Lane) (string, []any) { return sqlScan(lane), []any{scanLimit} }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			db := openDB(b)
			ctx := context.Background()
			db.R.SetMaxOpenConns(1) // one connection's statement cache, as in a busy pool
			for b.Loop() {
				for lane := range Lane(numLanes) {
					q, args := c.scan(lane)
					rows, err := db.R.QueryContext(ctx, q, args...)
					if err != nil {
						b.Fatal(err)
					}
					for rows.Next() {
					}
					rows.Close()
				}
			}
		})
	}
}
