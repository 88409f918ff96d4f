package handlers

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/internal/seed"
	"github.com/rsvpbot/rsvpbot/scheduler"
)

// bigTables are the tables that grow with the community or with time: a
// hot query must find its rows through an index, never by reading one of
// these whole.
var bigTables = []string{"events", "rsvps", "ledger", "outbox", "reminders", "users", "chat_members", "inbox", "event_cards", "chats", "reminder_plans"}

// fullScanAllowed are the queries that read a big table whole on purpose,
// each with why. A query is matched by a fragment of its text.
var fullScanAllowed = map[string]string{}

// boundedIndexes are partial indexes of rows waiting for something: a scan
// of one reads the backlog, not the table.
var boundedIndexes = []string{"inbox_pending", "outbox_ready", "reminder_sends_open", "reminder_sends_message"}

// hotQueryPlans runs every hot path once on a small seeded database (the
// lists, an RSVP press, /stats, /help, a reminder tick in a due minute),
// collects the queries they ran from the statement caches, and returns
// each with its EXPLAIN QUERY PLAN lines.
func hotQueryPlans(t *testing.T) (queries []string, plans map[string][]string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "plans.db")
	db, err := seed.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := seed.BenchConfig(0.01)
	if _, err := seed.Run(ctx, db, cfg); err != nil {
		t.Fatal(err)
	}
	db.Close()
	e := openBenchDB(t, path)
	defer e.close()
	for _, op := range benchOps {
		for i := range 3 {
			e.handle(t, op.update(e.fx, i))
		}
	}
	at := e.fx.DueFrom.Add(time.Minute - time.Second)
	r := scheduler.NewReminders(scheduler.ReminderConfig{DB: e.db, Render: e.app, Now: func() time.Time { return at }})
	if res, err := r.Tick(ctx); err != nil || res.Sent != seed.DuePerMinute {
		t.Fatalf("reminder tick: %+v %v", res, err)
	}
	// The next ticks plan from the replan queue (the first one read every
	// upcoming event): an event moved meanwhile is planned again.
	if _, err := e.db.W.ExecContext(ctx, `UPDATE events SET starts_at = starts_at + 60000 WHERE id = ?`, e.fx.BigEvent); err != nil {
		t.Fatal(err)
	}
	if res, err := r.Tick(ctx); err != nil || res.Planned != 1 {
		t.Fatalf("second reminder tick: %+v %v", res, err)
	}
	queries, err = e.db.CachedQueries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	plans = map[string][]string{}
	for _, q := range queries {
		rows, err := e.db.R.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, make([]any, numParams(q))...)
		if err != nil {
			t.Fatalf("EXPLAIN QUERY PLAN %s: %v", q, err)
		}
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plans[q] = append(plans[q], detail)
		}
		rows.Close()
	}
	return queries, plans
}

// scanRe matches a plan line that reads a table whole: a SCAN, or a
// SEARCH over an open range of the rowid (every row after some id).
var scanRe = regexp.MustCompile(`^(?:SCAN (\w+)|SEARCH (\w+) USING INTEGER PRIMARY KEY \(rowid[<>]\?\)$)`)

// TestHotQueriesUseIndexes fails if a query the hot paths run reads a big
// table whole (SCAN, with or without an index, rather than SEARCH), unless
// fullScanAllowed says why it must. Run with -v to see every plan (they
// are in docs/benchmarks.md).
func TestHotQueriesUseIndexes(t *testing.T) {
	queries, plans := hotQueryPlans(t)
	if len(queries) < 20 {
		t.Fatalf("only %d queries collected: the statement caches were not read", len(queries))
	}
	var b strings.Builder
	for _, q := range queries {
		plan := plans[q]
		if len(plan) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s\n", sqlLine(q))
		for _, line := range plan {
			fmt.Fprintf(&b, "    %s\n", line)
			m := scanRe.FindStringSubmatch(line)
			if m == nil || usesBounded(line) {
				continue
			}
			table := tableOf(q, m[1]+m[2])
			if !isBig(table) {
				continue
			}
			if why := allowed(q); why != "" {
				continue
			}
			t.Errorf("full scan of %s (%s) in:\n%s", table, line, sqlLine(q))
		}
	}
	t.Logf("hot query plans:%s", b.String())
}

func usesBounded(line string) bool {
	for _, ix := range boundedIndexes {
		if strings.Contains(line, "INDEX "+ix) {
			return true
		}
	}
	return false
}

func isBig(table string) bool {
	for _, b := range bigTables {
		if b == table {
			return true
		}
	}
	return false
}

func allowed(q string) string {
	for frag, why := range fullScanAllowed {
		if strings.Contains(q, frag) {
			return why
		}
	}
	return ""
}

// tableOf resolves an alias of the plan ("SCAN r") to its table, from
// "FROM rsvps r" or "JOIN rsvps r" in the query.
func tableOf(q, name string) string {
	if isBig(name) {
		return name
	}
	m := regexp.MustCompile(`(?i)(?:FROM|JOIN)\s+(\w+)\s+(?:AS\s+)?` + regexp.QuoteMeta(name) + `\b`).FindStringSubmatch(q)
	if m != nil {
		return m[1]
	}
	return name
}

func sqlLine(q string) string { return strings.Join(strings.Fields(q), " ") }

var paramRe = regexp.MustCompile(`\?(\d*)`)

// numParams counts q's parameters ("?" and "?N"), to bind NULL to each:
// the plan does not depend on the values.
func numParams(q string) int {
	plain, highest := 0, 0
	for _, m := range paramRe.FindAllStringSubmatch(q, -1) {
		if m[1] == "" {
			plain++
			continue
		}
		var n int
		fmt.Sscan(m[1], &n)
		highest = max(highest, n)
	}
	return max(plain, highest)
}
