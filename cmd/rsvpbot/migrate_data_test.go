package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"
	"github.com/jackc/pgx/v5"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/internal/seed"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/store/storetest"
)

// `rsvpbot migrate-data --to URL` moves a seeded SQLite database into an
// empty PostgreSQL schema: every table's rows, the values as they were,
// the /stats counters as they were (not counted again by the triggers),
// the inbox's update offset, and id sequences past the copied ids. A
// second run refuses the now non-empty target.
func TestMigrateDataCopiesEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	target := storetest.Postgres(t, "target")
	ctx := context.Background()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bot.db")
	now := time.Now()
	db, err := seed.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := seed.Run(ctx, db, seed.Config{Scale: 0.005, Seed: 19, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	// Bytes that are not text (a NUL, invalid UTF-8) in a BLOB, and NULLs.
	blob := []byte{0, 1, 2, 0xff, 0xfe, '{', 0}
	if _, err := db.W.ExecContext(ctx, `UPDATE ledger SET response = ? WHERE id = (SELECT min(id) FROM ledger)`, blob); err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.ExecContext(ctx, `UPDATE ledger SET response = NULL WHERE id = (SELECT max(id) FROM ledger)`); err != nil {
		t.Fatal(err)
	}
	// Text PostgreSQL cannot hold: a NUL byte, bytes that are not UTF-8.
	if _, err := db.W.ExecContext(ctx, `UPDATE events SET title = ?, description = CAST(? AS TEXT) WHERE id = (SELECT max(id) FROM events)`,
		"a\x00b", []byte{'c', 0xff, 'd'}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	environ := append(os.Environ(), "RSVPBOT_DB="+path)
	code, stdout, stderr := runCmd(t, bin, environ, "migrate-data", "--to", target)
	if code != 0 {
		t.Fatalf("migrate-data: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	t.Logf("migrate-data:\n%s%s", stdout, stderr)
	for _, want := range []string{"rsvps", "row counts equal", "set RSVPBOT_DB="} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}

	src, err := store.OpenReadOnly(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := store.OpenNoMigrate(ctx, target, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()

	// Every table's count.
	tables := queryStrings(t, src.R, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'goose%' ORDER BY name`)
	for _, table := range tables {
		var a, b int64
		q := `SELECT count(*) FROM ` + table
		if err := src.R.QueryRowContext(ctx, q).Scan(&a); err != nil {
			t.Fatal(err)
		}
		if err := dst.R.QueryRowContext(ctx, q).Scan(&b); err != nil {
			t.Fatalf("%s on PostgreSQL: %v", table, err)
		}
		if a != b {
			t.Errorf("%s: %d rows in SQLite, %d in PostgreSQL", table, a, b)
		}
	}
	if c := res.Counts; c.RSVPs == 0 || c.Outbox == 0 || c.Inbox == 0 || c.Ledger == 0 {
		t.Fatalf("seeded too little: %v", c)
	}

	// Values: the big event and its RSVPs, outbox rows, the ledger's
	// response bytes, the inbox's payloads.
	big := res.Fixtures.BigEvent
	for _, q := range []string{
		fmt.Sprintf(`SELECT id, chat_id, title, starts_at, coalesce(ends_at, -1), capacity, status, share_code, coalesce(place_lat, 0), version FROM events WHERE id = %d`, big),
		fmt.Sprintf(`SELECT user_id, status, guests, position, created_at FROM rsvps WHERE event_id = %d ORDER BY user_id`, big),
		`SELECT id, chat_id, lane, method, params, coalesce(dedup_key, ''), state, head, created_at FROM outbox ORDER BY id`,
		`SELECT id, outbox_id, outcome, coalesce(response, 'null') FROM ledger ORDER BY id`,
		`SELECT update_id, kind, payload, coalesce(done_at, 0) FROM inbox ORDER BY update_id`,
		`SELECT name, CAST(sum(n) AS BIGINT) FROM community_counts GROUP BY name ORDER BY name`,
		`SELECT day, CAST(sum(n) AS BIGINT) FROM users_seen_days GROUP BY day ORDER BY day`,
		`SELECT hour, outcome, n, retries, ambiguous FROM ledger_hourly ORDER BY hour, outcome`,
		`SELECT hour, sent, dead FROM outbox_hourly ORDER BY hour`,
	} {
		a, b := queryRows(t, src.R, q), queryRows(t, dst.R, q)
		if len(a) == 0 {
			t.Errorf("no rows to compare: %s", q)
		}
		if !slices.Equal(a, b) {
			t.Errorf("%s\nSQLite:     %.500q\nPostgreSQL: %.500q", q, a, b)
		}
	}
	var title, description string
	if err := dst.R.QueryRowContext(ctx, `SELECT title, description FROM events ORDER BY id DESC LIMIT 1`).Scan(&title, &description); err != nil ||
		title != "a\uFFFDb" || description != "c\uFFFDd" {
		t.Errorf("mended text: %q %q %v", title, description, err)
	}
	if !strings.Contains(stdout, "2 text value(s) had a NUL byte or invalid UTF-8") {
		t.Errorf("the mended text is not reported:\n%s", stdout)
	}
	var response []byte
	if err := dst.R.QueryRowContext(ctx, `SELECT response FROM ledger ORDER BY id LIMIT 1`).Scan(&response); err != nil || !bytes.Equal(response, blob) {
		t.Errorf("ledger response: %v %v, want %v", response, err, blob)
	}
	a, err := store.CountCommunity(ctx, src.R, now, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.CountCommunity(ctx, dst.R, now, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if a != b || a.RSVPs == 0 {
		t.Errorf("/stats counts: SQLite %+v, PostgreSQL %+v", a, b)
	}

	// The bot resumes getUpdates where it stopped.
	offA, err := store.NextUpdateOffset(ctx, src.R)
	if err != nil {
		t.Fatal(err)
	}
	offB, err := store.NextUpdateOffset(ctx, dst.R)
	if err != nil {
		t.Fatal(err)
	}
	if offA == 0 || offA != offB {
		t.Errorf("next update offset: SQLite %d, PostgreSQL %d", offA, offB)
	}
	if !strings.Contains(stdout, fmt.Sprintf("update offset %d", offA)) {
		t.Errorf("the offset is not reported:\n%s", stdout)
	}

	// The bot itself, started on the copy, asks Telegram for the updates
	// after the last one the SQLite bot stored, and answers the next.
	fake := bottest.NewServer(bottest.WithFirstUpdateID(offA))
	defer fake.Close()
	busy := models.User{ID: res.Fixtures.BusyUser, FirstName: "Busy", LanguageCode: "en"}
	fake.PushCommand(bottest.PrivateChat(busy), busy, "/help")
	botp := newBotProcess(t, fake, target)
	botp.start()
	waitUntil(t, 30*time.Second, "the bot's reply", func() bool { return botReplies(fake, busy.ID) > 0 })
	if code := botp.stop(); code != 0 {
		t.Fatalf("the bot on the copy: exit %d\n%s", code, botp.log())
	}
	if got := fake.CallsTo("getUpdates")[0].Params["offset"]; got != fmt.Sprint(offA) {
		t.Errorf("the bot on the copy polls from offset %s, want %d", got, offA)
	}

	// New rows get new ids.
	for _, table := range []string{"events", "outbox", "ledger"} {
		var maxID, next int64
		if err := dst.R.QueryRowContext(ctx, `SELECT max(id), nextval(pg_get_serial_sequence('`+table+`', 'id')) FROM `+table).Scan(&maxID, &next); err != nil {
			t.Fatal(err)
		}
		if next != maxID+1 {
			t.Errorf("%s: next id %d after %d", table, next, maxID)
		}
	}

	// Again: the target is not empty now.
	code, stdout, stderr = runCmd(t, bin, environ, "migrate-data", "--to", target)
	if code != 1 || !strings.Contains(stderr, "is not empty") || !strings.Contains(stderr, "events") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("second run: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// Wrong values are refused before anything is touched: exit 2 and one
// line naming the flag or variable, the password never printed; a file a
// running bot holds is refused naming it.
func TestMigrateDataRefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	target := storetest.Postgres(t, "target")
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bot.db")
	db, err := seed.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	environ := append(os.Environ(), "RSVPBOT_DB="+path)
	const secret = "s3cr3t-pw"
	for _, tc := range []struct {
		env  []string
		args []string
		name string
	}{
		{environ, []string{}, "--to"},
		{environ, []string{"--to", "mysql://root:" + secret + "@db/x"}, "--to"},
		{environ, []string{"--to", "postgres://postgres:" + secret + "@127.0.0.1:5432/x?sslmode=bogus"}, "--to"},
		{environ, []string{"--to", "postgres://postgres:" + secret + "@127.0.0.1:5432/rsvpbot_no_such_database?sslmode=disable"}, "--to"},
		{append(os.Environ(), "RSVPBOT_DB="+target), []string{"--to", target}, "RSVPBOT_DB"},
	} {
		code, stdout, stderr := runCmd(t, bin, tc.env, append([]string{"migrate-data"}, tc.args...)...)
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "rsvpbot migrate-data: "+tc.name+": ") ||
			strings.Contains(stderr+stdout, secret) {
			t.Errorf("%v: exit %d\nstdout: %s\nstderr: %s", tc.args, code, stdout, stderr)
		}
	}

	// A bot holds the file.
	lock, err := store.LockDatabase(path)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, bin, environ, "migrate-data", "--to", target)
	lock.Release()
	if code != 1 || !strings.Contains(stderr, path) || !strings.Contains(stderr, "in use") {
		t.Errorf("a bot's database: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	// A row whose foreign key points nowhere (written with the checks off).
	db, err = store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.W.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`PRAGMA foreign_keys = OFF`, `INSERT INTO rsvps (event_id, user_id, status, position, created_at, updated_at) VALUES (424242, 1, 'going', 1, 0, 0)`, `PRAGMA foreign_keys = ON`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	db.Close()
	code, stdout, stderr = runCmd(t, bin, environ, "migrate-data", "--to", target)
	if code != 1 || !strings.Contains(stderr, "rsvps (1 rows)") || !strings.Contains(stderr, "foreign key") {
		t.Errorf("an orphan row: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	// Help.
	if code, _, stderr := runCmd(t, bin, environ, "migrate-data", "--help"); code != 0 || !strings.Contains(stderr, "empty PostgreSQL database") {
		t.Errorf("help: exit %d %s", code, stderr)
	}
}

func queryStrings(t *testing.T, q store.Querier, query string) []string {
	t.Helper()
	var out []string
	for _, r := range queryRows(t, q, query) {
		out = append(out, strings.Trim(r, "[]"))
	}
	return out
}

// queryRows returns each row printed (byte slices and strings alike as
// their bytes, integers as integers).
func queryRows(t *testing.T, q store.Querier, query string) []string {
	t.Helper()
	rows, err := q.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			switch x := v.(type) {
			case []byte:
				vals[i] = string(x)
			case int32:
				vals[i] = int64(x)
			case int16:
				vals[i] = int64(x)
			}
		}
		out = append(out, fmt.Sprint(vals))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A role that may not turn triggers off is told so, and nothing is copied.
func TestMigrateDataNeedsTriggersOff(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	target := storetest.Postgres(t, "target")
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bot.db")
	db, err := seed.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Run(ctx, db, seed.Config{Scale: 0, Seed: 1, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// A role of its own, allowed to create tables in the test's schema
	// (and the scratch schema) but not a superuser.
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	role := fmt.Sprintf("t_nosuper_%d", os.Getpid())
	admin, err := pgx.Connect(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var dbName string
	if err := admin.QueryRow(ctx, `SELECT current_database()`).Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`DROP ROLE IF EXISTS ` + role,
		`CREATE ROLE ` + role + ` LOGIN NOSUPERUSER`,
		`GRANT USAGE, CREATE ON SCHEMA ` + schema + ` TO ` + role,
		`GRANT CREATE ON DATABASE ` + pgx.Identifier{dbName}.Sanitize() + ` TO ` + role,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), target)
		if err != nil {
			t.Log(err)
			return
		}
		defer conn.Close(context.Background())
		for _, q := range []string{`DROP OWNED BY ` + role, `DROP ROLE ` + role} {
			if _, err := conn.Exec(context.Background(), q); err != nil {
				t.Logf("%s: %v", q, err)
			}
		}
	})
	u.User = url.UserPassword(role, "pw")

	code, stdout, stderr := runCmd(t, bin, append(os.Environ(), "RSVPBOT_DB="+path), "migrate-data", "--to", u.String())
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "superuser") || !strings.Contains(stderr, "session_replication_role") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	var users int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema, "users"}.Sanitize()).Scan(&users); err != nil || users != 0 {
		t.Fatalf("users copied: %d %v", users, err)
	}
}
