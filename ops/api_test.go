package ops_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

func TestAPIRequiresBearerToken(t *testing.T) {
	e := newEnv(t, envOptions{})
	addChat(t, e.db, 42, true, "")
	body := `{"chat_id": 42, "text": "hi"}`
	for _, tc := range []struct {
		name, auth string
	}{
		{"none", ""},
		{"wrong token", "Bearer nope-nope-nope-nope"},
		{"token prefix", "Bearer " + testToken[:len(testToken)-1]},
		{"token with suffix", "Bearer " + testToken + "x"},
		{"wrong scheme", "Basic " + testToken},
		{"no scheme", testToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, rq := range []struct{ method, path string }{
				{"POST", "/v1/messages"}, {"GET", "/v1/messages/1"}, {"GET", "/v1/outbox/dead"},
				{"POST", "/v1/outbox/dead/1/requeue"}, {"POST", "/v1/outbox/dead/requeue-all"},
				{"GET", "/v1/no/such/thing"},
			} {
				var hdr []string
				if tc.auth != "" {
					hdr = []string{"Authorization", tc.auth}
				}
				r := e.do(rq.method, rq.path, "", strings.NewReader(body), hdr...)
				if r.status != http.StatusUnauthorized {
					t.Fatalf("%s %s: status %d, want 401: %s", rq.method, rq.path, r.status, r.body)
				}
				if got := r.apiError(t)["code"]; got != "unauthorized" {
					t.Fatalf("%s %s: code %v", rq.method, rq.path, got)
				}
				if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("no WWW-Authenticate: %v", r.header)
				}
			}
		})
	}
	if n := count(t, e.db, `SELECT count(*) FROM outbox`); n != 0 {
		t.Fatalf("unauthenticated requests queued %d messages", n)
	}
	if !strings.Contains(e.logs.String(), "without a valid bearer token") {
		t.Fatal("refusals not logged")
	}
	// The scheme is case-insensitive; the token is not.
	if r := e.do("GET", "/v1/outbox/dead", "", nil, "Authorization", "bearer "+testToken); r.status != http.StatusOK {
		t.Fatalf("lower-case scheme: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/v1/outbox/dead", "", nil, "Authorization", "Bearer "+strings.ToUpper(testToken)); r.status != http.StatusUnauthorized {
		t.Fatalf("upper-cased token accepted: %d", r.status)
	}
	// Authenticated, unknown routes and methods answer JSON 404 and 405.
	r := e.get("/v1/no/such/thing")
	if r.status != http.StatusNotFound || r.apiError(t)["code"] != "not_found" {
		t.Fatalf("unknown route: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodDelete, "/v1/messages", testToken, nil)
	if r.status != http.StatusMethodNotAllowed || r.apiError(t)["code"] != "method_not_allowed" || r.header.Get("Allow") == "" {
		t.Fatalf("wrong method: %d %v %s", r.status, r.header, r.body)
	}
}

func TestAPIDisabledWithoutToken(t *testing.T) {
	e := newEnv(t, envOptions{noAPI: true})
	if r := e.post("/v1/messages", `{"chat_id": 1, "text": "x"}`); r.status != http.StatusNotFound {
		t.Fatalf("API without a token answered %d", r.status)
	}
}

func TestPostMessageQueuesIt(t *testing.T) {
	e := newEnv(t, envOptions{})
	addChat(t, e.db, 42, true, "")
	// (Latency is measured by BenchmarkAPIPostMessage, not asserted here:
	// a loaded CI machine under -race says nothing about it.)
	r := e.post("/v1/messages", `{"chat_id": 42, "text": "  Hello <b>world</b>\n", "parse_mode": "HTML", "priority": "interactive"}`)
	if r.status != http.StatusAccepted {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	m := r.json(t)
	id := int64(m["id"].(float64))
	if m["state"] != "pending" || id <= 0 {
		t.Fatalf("answer %s", r.body)
	}
	if loc := r.header.Get("Location"); loc != fmt.Sprintf("/v1/messages/%d", id) {
		t.Fatalf("Location %q", loc)
	}
	row, _, err := outbox.Get(context.Background(), e.db.R, id)
	if err != nil {
		t.Fatal(err)
	}
	if row.ChatID != 42 || row.Method != "sendMessage" || row.Lane != outbox.Interactive || row.State != "pending" || row.DedupKey != "" {
		t.Fatalf("row %+v", row)
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(row.Params), &p); err != nil {
		t.Fatal(err)
	}
	if p["text"] != "Hello <b>world</b>" || p["parse_mode"] != "HTML" || p["chat_id"] != float64(42) {
		t.Fatalf("params %s", row.Params)
	}
	// Defaults: bulk, plain text; no key means every POST queues anew.
	r1 := e.post("/v1/messages", `{"chat_id": 42, "text": "plain"}`)
	r2 := e.post("/v1/messages", `{"chat_id": 42, "text": "plain"}`)
	if r1.status != 202 || r2.status != 202 || r1.json(t)["id"] == r2.json(t)["id"] {
		t.Fatalf("keyless posts: %s %s", r1.body, r2.body)
	}
	row, _, _ = outbox.Get(context.Background(), e.db.R, int64(r1.json(t)["id"].(float64)))
	if row.Lane != outbox.Bulk || strings.Contains(row.Params, "parse_mode") {
		t.Fatalf("defaults: %+v", row)
	}
	// Length is counted as Telegram does: UTF-16 units of the text as
	// shown. 2,048 emoji (4,096 units) pass, one more does not; HTML tags
	// and entities do not count.
	if r := e.post("/v1/messages", `{"chat_id": 42, "text": "`+strings.Repeat("🎉", 2048)+`"}`); r.status != 202 {
		t.Fatalf("2048 emoji: %d %s", r.status, r.body)
	}
	if r := e.post("/v1/messages", `{"chat_id": 42, "text": "`+strings.Repeat("🎉", 2049)+`"}`); r.status != 400 || !strings.Contains(string(r.body), `"text"`) {
		t.Fatalf("2049 emoji: %d %s", r.status, r.body)
	}
	html := strings.Repeat("<b>x</b>", 4000) + strings.Repeat("&amp;", 96)
	if r := e.post("/v1/messages", `{"chat_id": 42, "parse_mode": "HTML", "text": "`+html+`"}`); r.status != 202 {
		t.Fatalf("4096 characters of HTML: %d %s", r.status, r.body)
	}
}

func TestPostMessageRejectsBadInput(t *testing.T) {
	e := newEnv(t, envOptions{})
	addChat(t, e.db, 42, true, "")
	addChat(t, e.db, 43, false, "bot was blocked by the user")
	for _, tc := range []struct {
		name, body  string
		header      []string
		status      int
		code, field string
	}{
		{"empty body", ``, nil, 400, "invalid_json", ""},
		{"not JSON", `chat_id=42`, nil, 400, "invalid_json", ""},
		{"truncated", `{"chat_id": 42, "text": "hi"`, nil, 400, "invalid_json", ""},
		{"array", `[{"chat_id": 42, "text": "hi"}]`, nil, 400, "invalid_json", ""},
		{"null", `null`, nil, 400, "missing_field", "chat_id"},
		{"two objects", `{"chat_id": 42, "text": "a"} {"chat_id": 42, "text": "b"}`, nil, 400, "invalid_json", ""},
		{"unknown field", `{"chat_id": 42, "text": "hi", "silent": true}`, nil, 400, "unknown_field", "silent"},
		{"missing chat_id", `{"text": "hi"}`, nil, 400, "missing_field", "chat_id"},
		{"chat_id string", `{"chat_id": "42", "text": "hi"}`, nil, 400, "invalid_field", "chat_id"},
		{"chat_id float", `{"chat_id": 4.2, "text": "hi"}`, nil, 400, "invalid_field", "chat_id"},
		{"chat_id zero", `{"chat_id": 0, "text": "hi"}`, nil, 400, "invalid_field", "chat_id"},
		{"unknown chat", `{"chat_id": 777, "text": "hi"}`, nil, 400, "unknown_chat", "chat_id"},
		{"inactive chat", `{"chat_id": 43, "text": "hi"}`, nil, 400, "chat_inactive", "chat_id"},
		{"missing text", `{"chat_id": 42}`, nil, 400, "missing_field", "text"},
		{"text number", `{"chat_id": 42, "text": 5}`, nil, 400, "invalid_field", "text"},
		{"blank text", `{"chat_id": 42, "text": " \n\t "}`, nil, 400, "invalid_field", "text"},
		{"text too long", `{"chat_id": 42, "text": "` + strings.Repeat("a", 4097) + `"}`, nil, 400, "invalid_field", "text"},
		{"parse mode", `{"chat_id": 42, "text": "hi", "parse_mode": "Markdown"}`, nil, 400, "invalid_field", "parse_mode"},
		{"priority", `{"chat_id": 42, "text": "hi", "priority": "urgent"}`, nil, 400, "invalid_field", "priority"},
		{"key too long", `{"chat_id": 42, "text": "hi", "idempotency_key": "` + strings.Repeat("k", 256) + `"}`, nil, 400, "invalid_field", "idempotency_key"},
		{"key control char", `{"chat_id": 42, "text": "hi", "idempotency_key": "a\nb"}`, nil, 400, "invalid_field", "idempotency_key"},
		{"keys differ", `{"chat_id": 42, "text": "hi", "idempotency_key": "a"}`, []string{"Idempotency-Key", "b"}, 400, "invalid_field", "idempotency_key"},
		{"form body", `chat_id=42&text=hi`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post("/v1/messages", tc.body, tc.header...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			er := r.apiError(t)
			if er["code"] != tc.code || (er["field"] != nil && er["field"] != tc.field) || (er["field"] == nil && tc.field != "") {
				t.Fatalf("error %s, want code %s field %q", r.body, tc.code, tc.field)
			}
			if msg, _ := er["message"].(string); msg == "" {
				t.Fatalf("no message: %s", r.body)
			}
		})
	}
	if n := count(t, e.db, `SELECT count(*) FROM outbox`); n != 0 {
		t.Fatalf("bad requests queued %d messages", n)
	}
}

func TestPostMessageBodyLimit(t *testing.T) {
	e := newEnv(t, envOptions{})
	addChat(t, e.db, 42, true, "")
	big := `{"chat_id": 42, "text": "` + strings.Repeat("a", 70<<10) + `"}`
	// With a Content-Length, and streamed without one (chunked).
	r := e.post("/v1/messages", big)
	if r.status != http.StatusRequestEntityTooLarge || r.apiError(t)["code"] != "body_too_large" {
		t.Fatalf("oversized body: %d %s", r.status, r.body)
	}
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(big))
		pw.Close()
	}()
	r = e.do(http.MethodPost, "/v1/messages", testToken, io.NopCloser(pr), "Content-Type", "application/json")
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized chunked body: %d %s", r.status, r.body)
	}
	// Just under the limit is read (and refused for its text length, not its size).
	almost := `{"chat_id": 42, "text": "` + strings.Repeat("a", 64<<10-40) + `"}`
	if r := e.post("/v1/messages", almost); r.status != http.StatusBadRequest || r.apiError(t)["field"] != "text" {
		t.Fatalf("body under the limit: %d %s", r.status, r.body)
	}
}

func TestPostMessageIdempotency(t *testing.T) {
	e := newEnv(t, envOptions{})
	addChat(t, e.db, 42, true, "")
	addChat(t, e.db, 44, true, "")
	body := `{"chat_id": 42, "text": "Doors open at 7", "idempotency_key": "evt-1"}`
	first := e.post("/v1/messages", body)
	if first.status != http.StatusAccepted || first.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %v %s", first.status, first.header, first.body)
	}
	id := first.json(t)["id"]
	// The same request again, and the same key in the header instead.
	for _, r := range []response{
		e.post("/v1/messages", body),
		e.post("/v1/messages", `{"chat_id": 42, "text": "Doors open at 7"}`, "Idempotency-Key", "evt-1"),
		e.post("/v1/messages", body, "Idempotency-Key", "evt-1"),
	} {
		if r.status != http.StatusAccepted || r.json(t)["id"] != id || r.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %v %s", r.status, r.header, r.body)
		}
	}
	if n := count(t, e.db, `SELECT count(*) FROM outbox`); n != 1 {
		t.Fatalf("%d rows after replays", n)
	}
	if n := count(t, e.db, `SELECT count(*) FROM outbox WHERE dedup_key = 'api:evt-1'`); n != 1 {
		t.Fatal("dedup key not stored with its prefix")
	}
	// The same key for another message is refused and changes nothing.
	for _, other := range []string{
		`{"chat_id": 42, "text": "Doors open at 8", "idempotency_key": "evt-1"}`,
		`{"chat_id": 44, "text": "Doors open at 7", "idempotency_key": "evt-1"}`,
		`{"chat_id": 42, "text": "Doors open at 7", "priority": "interactive", "idempotency_key": "evt-1"}`,
		`{"chat_id": 42, "text": "Doors open at 7", "parse_mode": "HTML", "idempotency_key": "evt-1"}`,
	} {
		r := e.post("/v1/messages", other)
		if r.status != http.StatusUnprocessableEntity || r.apiError(t)["code"] != "idempotency_key_reused" {
			t.Fatalf("reused key: %d %s", r.status, r.body)
		}
	}
	// Whitespace trimmed away is the same message.
	if r := e.post("/v1/messages", `{"chat_id": 42, "text": "Doors open at 7  ", "idempotency_key": "evt-1"}`); r.json(t)["id"] != id {
		t.Fatalf("trimmed replay: %s", r.body)
	}
	if n := count(t, e.db, `SELECT count(*) FROM outbox`); n != 1 {
		t.Fatalf("%d rows after conflicts", n)
	}
	// A replay reports the message's current state.
	if _, err := e.db.W.Exec(`UPDATE outbox SET state = 'sent', sent_at = 1, done_at = 1, tg_message_id = 9`); err != nil {
		t.Fatal(err)
	}
	if r := e.post("/v1/messages", body); r.json(t)["state"] != "sent" {
		t.Fatalf("replay after sending: %s", r.body)
	}
	// Even a chat that became inactive replays the accepted request.
	addChat(t, e.db, 42, false, "kicked")
	if r := e.post("/v1/messages", body); r.status != http.StatusAccepted || r.json(t)["id"] != id {
		t.Fatalf("replay to an inactive chat: %d %s", r.status, r.body)
	}
	m := e.scrape()
	if m.value("rsvpbot_api_messages_total", "result", "enqueued") != 1 || m.value("rsvpbot_api_messages_total", "result", "replayed") != 6 {
		t.Fatalf("api message counters: enqueued %v replayed %v", m.value("rsvpbot_api_messages_total", "result", "enqueued"),
			m.value("rsvpbot_api_messages_total", "result", "replayed"))
	}
}

// Concurrent requests with one key queue one message.
func TestPostMessageIdempotencyConcurrent(t *testing.T) {
	e := newEnv(t, envOptions{})
	addChat(t, e.db, 42, true, "")
	ids := make(chan any, 20)
	for range 20 {
		go func() {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/messages",
				strings.NewReader(`{"chat_id": 42, "text": "once", "idempotency_key": "k"}`))
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				ids <- err
				return
			}
			defer resp.Body.Close()
			var m map[string]any
			json.NewDecoder(resp.Body).Decode(&m)
			ids <- m["id"]
		}()
	}
	first := <-ids
	for range 19 {
		if id := <-ids; id != first {
			t.Fatalf("ids differ: %v %v", first, id)
		}
	}
	if n := count(t, e.db, `SELECT count(*) FROM outbox`); n != 1 {
		t.Fatalf("%d rows", n)
	}
}

// sender runs an outbox sender against a fake Bot API until the test ends.
func runSender(t testing.TB, db *store.DB, fake *bottest.Server, obs outbox.Observer, retryBase time.Duration) {
	t.Helper()
	client, err := bot.NewClient(fake.Token, fake.URL, bot.ClientOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := outbox.NewSender(db, client, outbox.Config{Limits: &outbox.Limits{}, Observer: obs, PollInterval: 20 * time.Millisecond,
		RetryBase: retryBase, RetryMax: retryBase, Logger: (&logBuffer{}).logger()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestGetMessageFollowsDelivery(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	e := newEnv(t, envOptions{})
	addChat(t, e.db, 42, true, "")
	// First attempt answered 500: the message is "failed" until its retry.
	fake.FailNext(bottest.Fault{Method: "sendMessage", Status: 500})
	runSender(t, e.db, fake, e.metrics.Outbox(), time.Hour)
	r := e.post("/v1/messages", `{"chat_id": 42, "text": "status?"}`)
	id := int64(r.json(t)["id"].(float64))
	path := fmt.Sprintf("/v1/messages/%d", id)
	waitFor(t, "the first attempt", func() bool { return e.get(path).json(t)["attempts"] == float64(1) })
	m := e.get(path).json(t)
	if m["state"] != "failed" || m["next_attempt_at"] == nil || !strings.Contains(m["last_error"].(string), "Internal Server Error") ||
		m["telegram_message_id"] != float64(0) || m["priority"] != "bulk" || m["chat_id"] != float64(42) {
		t.Fatalf("after a 500: %v", m)
	}
	// Let the retry happen now.
	if _, err := e.db.W.Exec(`UPDATE outbox SET next_attempt_at = 0 WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery", func() bool { return e.get(path).json(t)["state"] == "sent" })
	m = e.get(path).json(t)
	msgs := fake.Messages(42)
	if len(msgs) != 1 || m["telegram_message_id"] != float64(msgs[0].ID) || m["attempts"] != float64(2) ||
		m["last_error"] != "" || m["sent_at"] == nil || m["next_attempt_at"] != nil {
		t.Fatalf("after delivery: %v (messages %v)", m, msgs)
	}
	if msgs[0].Text != "status?" {
		t.Fatalf("delivered %q", msgs[0].Text)
	}
	// Unknown and malformed ids.
	if r := e.get("/v1/messages/999999"); r.status != http.StatusNotFound || r.apiError(t)["code"] != "not_found" {
		t.Fatalf("unknown id: %d %s", r.status, r.body)
	}
	for _, bad := range []string{"abc", "-1", "0", "1.5"} {
		if r := e.get("/v1/messages/" + bad); r.status != http.StatusBadRequest || r.apiError(t)["field"] != "id" {
			t.Fatalf("id %q: %d %s", bad, r.status, r.body)
		}
	}
}

func TestDeadLettersListAndRequeue(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	e := newEnv(t, envOptions{})
	for _, c := range []int64{42, 43, 44} {
		addChat(t, e.db, c, true, "")
	}
	// A 400 is final: each of these becomes a dead letter.
	fake.FailNext(bottest.Fault{Method: "sendMessage", Status: 400, Description: "Bad Request: can't parse entities", Times: 3})
	runSender(t, e.db, fake, e.metrics.Outbox(), time.Hour)
	var ids []int64
	for _, c := range []int64{42, 43, 44} {
		r := e.post("/v1/messages", fmt.Sprintf(`{"chat_id": %d, "text": "<b>fine</b>", "parse_mode": "HTML"}`, c))
		ids = append(ids, int64(r.json(t)["id"].(float64)))
	}
	waitFor(t, "dead letters", func() bool { return count(t, e.db, `SELECT count(*) FROM outbox WHERE state = 'dead'`) == 3 })

	r := e.get("/v1/outbox/dead")
	var list struct {
		DeadLetters []map[string]any `json:"dead_letters"`
		More        bool             `json:"more"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil || r.status != 200 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	if len(list.DeadLetters) != 3 || list.More || list.DeadLetters[0]["id"] != float64(ids[0]) ||
		list.DeadLetters[0]["state"] != "dead" || !strings.Contains(list.DeadLetters[0]["last_error"].(string), "can't parse entities") {
		t.Fatalf("list: %s", r.body)
	}
	if r := e.get("/v1/outbox/dead?limit=2"); !strings.Contains(string(r.body), `"more":true`) {
		t.Fatalf("limited list: %s", r.body)
	}
	if r := e.get("/v1/outbox/dead?limit=0"); r.status != 400 || r.apiError(t)["field"] != "limit" {
		t.Fatalf("limit 0: %d %s", r.status, r.body)
	}

	// Requeue one: it is sent (the fault is used up).
	r = e.post(fmt.Sprintf("/v1/outbox/dead/%d/requeue", ids[0]), "")
	if r.status != 200 || r.json(t)["state"] != "pending" {
		t.Fatalf("requeue: %d %s", r.status, r.body)
	}
	path := fmt.Sprintf("/v1/messages/%d", ids[0])
	waitFor(t, "the requeued message", func() bool { return e.get(path).json(t)["state"] == "sent" })
	// Requeueing something that is not dead, or does not exist.
	if r := e.post(fmt.Sprintf("/v1/outbox/dead/%d/requeue", ids[0]), ""); r.status != http.StatusConflict ||
		r.apiError(t)["code"] != "not_dead" || !strings.Contains(r.apiError(t)["message"].(string), "sent") {
		t.Fatalf("requeue of a sent message: %d %s", r.status, r.body)
	}
	if r := e.post("/v1/outbox/dead/999999/requeue", ""); r.status != http.StatusNotFound {
		t.Fatalf("requeue of nothing: %d %s", r.status, r.body)
	}
	// Requeue the rest at once.
	r = e.post("/v1/outbox/dead/requeue-all", "")
	if r.status != 200 || r.json(t)["requeued"] != float64(2) {
		t.Fatalf("requeue-all: %d %s", r.status, r.body)
	}
	waitFor(t, "all sent", func() bool { return count(t, e.db, `SELECT count(*) FROM outbox WHERE state = 'sent'`) == 3 })
	if r := e.get("/v1/outbox/dead"); !bytes.Contains(r.body, []byte(`"dead_letters":[]`)) {
		t.Fatalf("dead letters left: %s", r.body)
	}
}

// The API writes a message in one transaction with nothing else: a
// database that cannot be written answers 500 and queues nothing.
func TestPostMessageDatabaseFailure(t *testing.T) {
	e := newEnv(t, envOptions{})
	addChat(t, e.db, 42, true, "")
	if err := e.db.Tx(context.Background(), func(tx *sql.Tx) error {
		if e.db.Postgres() {
			_, err := tx.Exec(`CREATE FUNCTION no_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$`)
			if err == nil {
				_, err = tx.Exec(`CREATE TRIGGER no_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION no_outbox()`)
			}
			return err
		}
		_, err := tx.Exec(`CREATE TRIGGER no_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	r := e.post("/v1/messages", `{"chat_id": 42, "text": "hi"}`)
	if r.status != http.StatusInternalServerError || r.apiError(t)["code"] != "internal" || strings.Contains(string(r.body), "disk on fire") {
		t.Fatalf("db failure: %d %s", r.status, r.body)
	}
	if !strings.Contains(e.logs.String(), "disk on fire") {
		t.Fatal("the cause was not logged")
	}
}
