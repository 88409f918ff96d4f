// Package ops is rsvpbot's HTTP face for operators and other programs, served
// on RSVPBOT_HTTP_ADDR next to the Telegram webhook:
//
//	GET  /healthz                          the process is alive (always 200)
//	GET  /readyz                           ready to serve: 200, or 503 with the reasons
//	GET  /metrics                          Prometheus metrics
//	POST /v1/messages                      queue a message (bearer token)
//	GET  /v1/messages/{id}                 a queued message's fate (bearer token)
//	GET  /v1/outbox/dead                   dead letters (bearer token)
//	POST /v1/outbox/dead/{id}/requeue      send a dead letter again (bearer token)
//	POST /v1/outbox/dead/requeue-all       send every dead letter again (bearer token)
//
// # Why a package of its own
//
// The bot's promise is that it never loses a message; the promise is only
// worth something if an operator can see it being kept. Everything an
// operator or a monitoring system asks of the running process — is it up,
// can it work, how deep is the queue, what failed and why — is answered
// here, from the same database and the same events the bot itself uses, so
// the figures cannot drift from the truth. The message API lives here too
// because it is the same kind of surface (machine-facing, authenticated by
// a token, no Telegram user behind it) and shares the server, the JSON
// conventions and the instrumentation. It writes only through
// outbox.Enqueue, so a message accepted with 202 is as durable as a reply to
// a command: it is committed before the answer is sent.
//
// Nothing here keeps global state: metrics live on a registry of their own
// (NewMetrics), so tests and several instances in one process never clash.
//
// # Readiness
//
// /readyz answers 503 with one line per failing check when any of these is
// not true:
//
//   - the database takes a write: a write transaction is begun (taking the
//     writer's lock, as every handler does) and a schema change is made and
//     rolled back, within a few seconds. A closed database, a file another
//     process keeps locked, or a connection that cannot write fails it. A
//     full disk only shows at commit (a rolled-back change needs no space),
//     so the check also fails while the latest real commit failed
//     (store.DB.WriteState): it then tries a real one-page commit, and is
//     ok again as soon as one succeeds;
//   - every migration this binary knows is applied;
//   - Telegram answered a call recently (Health.StaleAfter, default 3 min).
//     Long polling calls getUpdates every 25 s, but in webhook mode a quiet
//     bot may make no call for hours, so Health.Run probes with getMe
//     whenever no call has succeeded for ProbeIdle (default 1 min): an idle
//     bot stays ready, and a bot whose token was revoked or whose network is
//     down turns unready within StaleAfter whatever the traffic;
//   - getUpdates is not answered 409 Conflict (Health.Polled): another
//     process polling with the same token splits the updates with this one
//     ("another process is polling this bot token (409 Conflict)"); ready
//     again once a poll succeeds;
//   - the outbox sender is not paused because Telegram is unreachable (its
//     breaker, see the outbox package doc): while it is, the check reads
//     "Telegram unreachable for 40s (outbox sending paused, probing)".
//
// With scheduled backups (RSVPBOT_BACKUP_DIR), /readyz also has a
// "backup" line (Backups): "ok" with the last success's age, or "WARN"
// once it is older than twice RSVPBOT_BACKUP_EVERY. A warning never makes
// the bot unready: it serves its users as well without a fresh backup.
//
// # Metrics
//
// All names start with rsvpbot_ (plus the standard go_ and process_
// collectors). Labels are bounded: method is one of the Bot API methods the
// client implements, class an outbox outcome class, command a registered
// command name ("other" for any other command, "none" for updates that are
// no command), kind an update kind; there are no per-user or per-chat
// labels. Queue depths are read from the database at scrape time, so they
// are right even when another process (the CLI) changed the queue.
//
// Counters (since the process started):
//
//	rsvpbot_outbox_attempts_total{method,class}        Bot API calls made by the sender, by outcome class
//	rsvpbot_outbox_failed_attempts_total{method,class} calls that did not deliver (every class but ok, not_modified, gone)
//	rsvpbot_outbox_sent_total{method,lane}             messages delivered
//	rsvpbot_outbox_rate_limited_total{scope}           429s received; scope "global" when it paused all sending
//	rsvpbot_outbox_retries_total{method,class}         retries scheduled after transient failures
//	rsvpbot_outbox_dead_letters_total{method,class}    messages that failed for good
//	rsvpbot_outbox_dropped_total{method,reason}        messages not sent on purpose (chat inactive, expired)
//	rsvpbot_updates_received_total{kind}               updates stored by the intake (duplicates excluded)
//	rsvpbot_updates_handled_total{kind,command}        updates handled by the dispatcher
//	rsvpbot_handler_errors_total{command}              handlers that failed (the user got an apology)
//	rsvpbot_intake_calls_total{result}                 getUpdates round trips and webhook deliveries
//	rsvpbot_weather_calls_total{op,outcome}            weather lookups by outcome
//	rsvpbot_api_requests_total{route,code}             message API requests
//	rsvpbot_api_messages_total{result}                 POST /v1/messages: enqueued or replayed
//	rsvpbot_backups_total{result}                      scheduled backups, ok or error
//
// Histograms (seconds):
//
//	rsvpbot_outbox_enqueue_to_sent_seconds{lane}       from Enqueue to Telegram's acceptance
//	rsvpbot_telegram_call_duration_seconds{method}     one Bot API call by the sender
//	rsvpbot_handler_duration_seconds{command}          one update through its handler
//	rsvpbot_api_request_duration_seconds{route}        message API requests
//
// Gauges:
//
//	rsvpbot_outbox_messages{state,lane}                queue now: state pending, sending or dead
//	rsvpbot_outbox_oldest_pending_age_seconds          age of the oldest pending message (0 if none)
//	rsvpbot_outbox_dead_last_hour                      messages dead-lettered in the last hour
//	rsvpbot_outbox_warning{condition}                  1 while the sender's warning holds:
//	                                                   condition "pending_depth" (outbox.PendingWarnDepth) or
//	                                                   "dead_letter_growth" (outbox.DeadWarnPerHour in an hour)
//	rsvpbot_outbox_warning_threshold{condition}        the thresholds of those warnings
//	rsvpbot_inbox_pending                              updates stored and not yet handled
//	rsvpbot_inbox_lag_seconds                          age of the oldest unhandled update (0 if none)
//	rsvpbot_scrape_database_ok                         1 if the queries behind the gauges above succeeded
//	rsvpbot_telegram_last_success_timestamp_seconds    last call Telegram answered (readiness)
//	rsvpbot_weather_breaker_state{state}               1 for the weather circuit breaker's current state
//	rsvpbot_telegram_reachable                         0 while the outbox sender is paused because Telegram is unreachable
//	rsvpbot_sender_paused_seconds                      how long it has been paused (0 while it sends)
//	rsvpbot_backup_last_success_timestamp_seconds      last scheduled backup written and checked (0: none yet)
//	rsvpbot_backup_warning                             1 while that is older than twice RSVPBOT_BACKUP_EVERY
//	rsvpbot_build_info{version,goversion}              always 1
//	rsvpbot_start_time_seconds                         when the process started
//
// Alerts can use the warnings directly (rsvpbot_outbox_warning == 1), or
// their ingredients, e.g. increase(rsvpbot_outbox_dead_letters_total[1h]).
//
// # Message API
//
// Enabled when RSVPBOT_API_TOKEN is set. Every /v1 request needs
// "Authorization: Bearer <token>"; the token is compared in constant time
// and a missing or wrong one is answered 401. Errors are JSON:
//
//	{"error": {"code": "invalid_field", "field": "text", "message": "text is empty"}}
//
// POST /v1/messages takes a JSON object (at most 64 KiB; unknown fields are
// refused):
//
//	chat_id          integer, required: a chat the bot knows (table chats) and may write to
//	text             string, required: 1 to 4,096 characters once leading and trailing space is trimmed
//	                 (the trimmed text is sent)
//	parse_mode       "HTML", "MarkdownV2" or "" (plain text, the default); HTML is parsed as
//	                 Telegram parses it (package bot/tgtext) and what Telegram would refuse is
//	                 400 (code "invalid_html") with Telegram's reason, e.g. a bare "<"
//	priority         "interactive", "edit" or "bulk" (the default): the outbox lane
//	idempotency_key  optional, 1 to 255 characters; or the Idempotency-Key header (both: they must agree)
//
// It answers 202 {"id": 42, "state": "pending"} once the message is
// committed to the outbox, with a Location header. With an idempotency key,
// a repeated request answers 202 with the first request's id and current
// state (and "Idempotent-Replayed: true") and queues nothing; the same key
// with a different chat, text, parse mode or priority is answered 422
// (code "idempotency_key_reused"), following the IETF
// Idempotency-Key draft. Keys are remembered as long as the outbox keeps
// the message (the retention period, 90 days, after it was sent; dead
// letters forever). Bad input is 400 naming the field, a body over 64 KiB
// is 413. A body without Content-Type is read as JSON; any other type
// than application/json is 415 (curl -d sends a form type: add
// -H "Content-Type: application/json", or use --json).
//
// GET /v1/messages/{id} answers the message's state — pending, sending,
// sent, failed (the last attempt failed; another is scheduled at
// next_attempt_at), dead, dropped or replaced — with the number of
// attempts, the last error and Telegram's message id once sent. Any outbox
// row can be read, not only those queued through the API, as with
// `rsvpbot outbox show`.
//
// GET /v1/outbox/dead (?limit=N, default 100, at most 1,000) lists dead
// letters oldest first; POST /v1/outbox/dead/{id}/requeue and
// POST /v1/outbox/dead/requeue-all send them again with a fresh attempt
// budget, like `rsvpbot outbox requeue ID|--all` (404 for an unknown id,
// 409 for a message that is not a dead letter).
package ops
