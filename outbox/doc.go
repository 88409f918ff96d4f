// Package outbox is rsvpbot's transactional outbox and its rate-limited
// sender. Every Bot API call that changes what a user sees (sendMessage,
// editMessageText, editMessageReplyMarkup, answerCallbackQuery,
// sendDocument, deleteMessage, pinChatMessage) is a row written by Enqueue
// inside the transaction of the change that caused it, and sent later by a
// Sender. The sender knows nothing of why a row was queued; a reference
// (Message.Ref) lets the enqueuer hear the row's fate — sent with its
// message id, dead or dropped — in the transaction that records it
// (Config.OnFate).
//
// The package owns its tables: their schema is its own migration set
// (migrations/, applied by store.Open through WithSchema), and no other
// package queries them; they read the queue through ReadQueue, Get,
// ListDead, Lookup and Queued, and use State and Class for what a row's
// state and an attempt's outcome mean.
//
// # Life of a row
//
//	pending ──claim──▶ sending ──result──▶ sent | dead | dropped
//	   ▲                  │
//	   └──retry / 429─────┘      dead ──Requeue──▶ pending
//	pending ──newer row, same coalesce key──▶ replaced
//
// The sender never holds the write transaction across a network call: it
// claims rows (marks them sending) in one short transaction, calls Telegram
// outside any transaction, and records the result — an append-only ledger
// row per attempt, the row's new state and the fate hook — in another.
// Results are recorded in batches (one transaction for whatever has
// arrived), and a chat's next row is not claimed until its previous result
// is on disk.
//
// # Order: lines and heads
//
// Rows of one chat and one lane form a line, sent strictly in id order,
// one call in flight per chat. A row that must be retried keeps its place:
// it stays the head of its line (with next_attempt_at in the future) and
// the rows behind it wait. Only heads are scanned (outbox_ready), so a chat
// with a long queue costs one index entry, not a scan of its queue; every
// path that changes a line promotes its next head, and the claim re-checks
// "nothing earlier in this line is queued", so a stray second head (a
// requeued old row, two lines merged by a migration) can never break FIFO.
// A dead letter does not block its line: later rows go on, and a requeued
// dead letter is sent when it is reached again (after them).
//
// # Lanes and fairness
//
// Interactive (replies to a user's own action) goes before Edit (card
// updates) before Bulk (reminders, announcements), both in choosing the
// next row globally and between lanes of one chat. Strict priority alone
// would let a busy evening of button presses starve reminders, so lower
// lanes have a guaranteed share of the global budget whenever they have
// due rows: a lane passed over 4 times in a row (Edit) or 9 times (Bulk)
// gets the next slot. Under full contention that is about 70% interactive,
// 20% edit, 10% bulk; with no contention each lane gets everything. Bulk
// never delays interactive by more than one slot in ten, and interactive
// never starves bulk.
//
// # Limits
//
// Pacing uses token buckets (golang.org/x/time/rate, always with explicit
// times from the injectable Clock): a global one (default 30/s, holding
// about 50 ms of tokens, at least one, so that claims can be batched) and
// one per chat (default 1/s
// for private chats, chat id > 0; 20/min for groups, chat id < 0; burst 1).
// answerCallbackQuery posts nothing in the chat, so it is paced by the
// global bucket only; so is answerInlineQuery, queued on the Interactive
// lane under the asker's user id (never behind Bulk, and sent even if that
// user blocked the bot privately). Edits of inline messages have no chat:
// they share the key InlineChat, paced by the global bucket only, one call
// in flight, coalesced per message like other edits. Per-chat state is kept only while it carries
// information (a call in flight, a 429 wait, a bucket not yet full) and
// evicted otherwise, so memory follows the chats active in the last few
// seconds, not all chats ever seen.
//
// # Telegram's limits on content
//
// Enqueue fits every call to what Telegram accepts before it is stored
// (limits.go, measuring with bot/tgtext as Telegram does: UTF-16 units
// after HTML parsing): a sendMessage over 4,096 is split into several
// rows of one line, at paragraph or line breaks with HTML kept valid (the
// caller's keys, hook and keyboard go with the last part); an edit, a
// caption over 1,024 or a callback answer over 200 is cut with "…". The
// empty copy_text that go-telegram/bot's button struct adds is removed,
// and bot.Client sends reply_markup exactly as stored. A message is never
// a dead letter for its length.
//
// # 429 scopes
//
// A 429 is applied the moment a worker sees it, before it is recorded. On
// one chat it blocks that chat (all lanes) for exactly retry_after from
// the answer; the row keeps its place and its next_attempt_at records the
// wait, so a restart honours it too. 429s from two or more distinct chats
// within 2 s mean the global limit was hit: all sending pauses until the
// latest retry_after runs out. A pause or wait is only ever extended, never
// shortened, and the global bucket is emptied as of the end of a pause, so
// sending resumes at the paced rate instead of in a burst. 429s, like
// migrations, do not count toward the dead-letter limit.
//
// # Failures
//
//   - 5xx and network errors: retried with exponential backoff from 1 s,
//     doubling, capped at 30 s, ±20% jitter; the 5th such failure counted
//     against the row makes it a dead letter. Only failures that are the
//     row's own are counted (see "Telegram away" below).
//   - 403 (blocked, kicked, deactivated, deleted, can't initiate): the chat
//     is marked inactive (store.SetChatActive, with Telegram's description;
//     a chats row is created if the intake never saw the chat) and all its
//     pending rows are dropped — kept with state dropped and the reason, not
//     deleted. Enqueue stays unconditional: the sender drops rows of
//     inactive chats when it reaches them, so a chat reactivated before then
//     still gets them. A chat with no chats row is treated as active.
//     Inline calls are no chat's: a 403 on an edit under InlineChat or on
//     an answerInlineQuery drops that row only, and an inactive chat never
//     holds back (or drops) an answer to its user's inline query.
//   - 400 with migrate_to_chat_id: store.MigrateChat moves every reference,
//     queued rows included, and the row is resent at once to the new id
//     (the sender rewrites chat_id in the stored parameters at call time).
//     Rows that act on one of the old group's messages (a top-level
//     message_id: edits, deletes, pins) are dropped instead, because the
//     supergroup's copies have other ids; Config.OnMigrated, in the same
//     transaction, lets their owner post afresh (handlers re-post cards).
//   - 400 "message is not modified", and deleteMessage's "message to
//     delete not found": success — what was asked is already in effect
//     (typically a retry of a call that did get through).
//   - answerCallbackQuery "query is too old": dropped as expired. The user
//     stopped waiting; there is nothing to requeue and nothing to alarm on.
//   - Other 400s, and parameters the client cannot use: dead letter at once.
//   - 401/404 (wrong token or API URL: every call would fail alike): all
//     sending pauses for a minute and the row keeps its attempt budget.
//
// Dead letters wait for an operator: ListDead, Get, Requeue,
// RequeueAllDead, and `rsvpbot outbox dead|show|requeue` (CLI), all safe
// while the bot runs, also from another process.
//
// # Telegram away: the breaker
//
// Five tries is right for a message Telegram keeps refusing and wrong when
// Telegram as a whole is away, so a failure that may be the API's — no
// answer (network error, timeout, a cut-off body) or a 5xx — is first held
// against the API (breaker.go), never against the message, until a
// verdict:
//
//   - Shared: another message's call failed the same way between this
//     call's start and the verdict, or the breaker opened first. Not
//     counted: the row is due again after about 1 s, and held back while
//     sending is paused.
//   - Own: a call claimed after it returned got an answer (any answer:
//     2xx, 4xx, 429) with no such failure meanwhile — Telegram was
//     reachable and only this message failed. Counted; the 5th counted
//     failure dead-letters the row. When no call of ours follows within
//     250 ms, a probe (Config.Probe: getMe) is the call that settles it.
//
// While it waits for its verdict (milliseconds under traffic) the row
// stays 'sending'; a crash then leaves it to the interrupted-row recovery.
// A 4xx is never held against the API: 429, 403, migrations and 401/404
// keep their handling above, and any other retried 4xx counts at once.
//
// Three held failures in a row (no answer in between) from two or more
// chats, or a failed probe, open the breaker: all sending pauses (each row
// keeps its place in its line, so order per chat holds) and Config.Probe
// is called at once, then after 1 s, doubling up to Config.ProbeMax
// (15 s). A blip costs one probe; a return is noticed within 15 s, or at
// once when another part of the bot sees Telegram answer
// (Sender.TelegramCall, fed by the intake's getUpdates). A probe that gets
// through closes the breaker and sending resumes at the paced rate. Once
// the first probe of an outage has failed, the Observer is told
// (Reachability: /readyz answers 503 "Telegram unreachable for 40s",
// rsvpbot_telegram_reachable is 0), and again when it ends. Without
// Config.Probe the first real call due after the wait is the probe, and a
// failure nothing settles is counted. The breaker lives in memory: after a
// restart it starts closed. The ledger records every attempt, counted or
// not; an ambiguous one stays ambiguous (below).
//
// # The ambiguity rule: at-least-once, for every method
//
// A call whose request may have reached Telegram without an answer coming
// back (bot.Result.Sent and a network error or timeout, a 200 whose body
// was lost, or a 5xx — Telegram's front end can fail after its back end
// acted) may have been delivered. Such attempts are recorded with
// ambiguous = 1 in the ledger, counted (Queue.Ambiguous,
// ClassAmbiguous), and retried like any transient failure: at-least-once
// for every method. The product promises never to lose a message, and the
// cost is mild: edits, deletes, pins and callback answers are idempotent
// (a repeat is "not modified", "not found" or harmless), so only a
// duplicated sendMessage/sendDocument is visible, and only when a call
// fails in exactly this way.
//
// # Crash safety
//
// Everything is in the database. A process that dies (SIGKILL, OOM, power)
// loses no queued row: rows it left in state sending are found by the next
// Run, recorded as an "interrupted" ambiguous attempt, and sent again by
// the ambiguity rule (they keep their place; the interruption does not
// count toward the dead-letter limit, since the failure was ours). Rows
// claimed but not yet called when the process died are among them and are
// simply sent. With synchronous=NORMAL (see store) a power cut can lose
// the last committed transactions: an enqueue lost that way is lost
// together with the state change that caused it, and a lost "sent" record
// means that message is sent again. One Sender per database: Run's
// recovery would take over another live sender's in-flight rows.
//
// # PostgreSQL
//
// The same code runs on PostgreSQL (store.Open with a postgres:// URL):
// the schema is migrations/postgres, the same tables in its dialect and
// under the same version numbers, and the SQL is written once in the
// dialect both accept; the one statement that differs (a look inside the
// params JSON, sql.go) keeps both texts side by side. There handlers on
// several replicas enqueue concurrently, and still exactly one Sender
// runs (whoever starts it holds a lease first). Two rules make the
// concurrency safe: a line's head is decided under the line's
// transaction lock (holdLine: store.LockTx), which an enqueue and every
// promote take, so an enqueue racing the sender's finish never leaves a
// line without a head; and the claim is a conditional UPDATE that re-checks the row's state,
// so a row is never claimed twice. The hourly rollups are one row per
// hour, not sharded: their triggers fire only on the sender's writes (the
// reasoning is in migrations/postgres/00003_schema.sql).
//
// # Observability
//
// The Observer (no-op by default) gets every attempt's class and latency,
// 429s, retries, dead letters, drops and enqueue→sent latency, for a
// Prometheus layer. ReadQueue is the one read model everyone shows (ops
// metrics, /stats, the CLI, the sender's monitor): depth by lane and
// state, the oldest pending row, a window's sent/failed/429/retries/
// ambiguous/new-dead counts and p50/p95 enqueue→sent latency (read from
// hourly rollups that triggers keep in the writing transaction, by whole
// clock hours; see Queue.Window), and the
// warning conditions (Queue.Conditions, the only place thresholds are
// compared): more than PendingWarnDepth rows pending, more than
// DeadWarnPerHour rows dead-lettered in the last hour. Once a minute the
// sender logs those that hold (repeated at most every 10 minutes).
// The ledger keeps each attempt's raw response (truncated to 4 KiB);
// PurgeLedger, run by the scheduler, deletes ledger rows and finished
// outbox rows older than the retention (DefaultRetention, 90 days), in
// short batches (store.DB.PurgeBatched) so that updates go on meanwhile,
// and the hourly rollups of the hours before the same cutoff.
// Nothing logged or stored contains the bot token (bot.Client redacts it).
package outbox
