// Package bot is the Telegram edge of rsvpbot: it takes updates in (long
// polling or a webhook) and makes Bot API calls for the outbox sender. It
// knows nothing of events or RSVPs.
//
// # Intake owns delivery
//
// go-telegram/bot's own poller confirms an update to Telegram (by moving the
// offset) before any handler has run, and runs handlers in goroutines
// without recover: a crash loses updates. This package therefore owns the
// intake: every batch from getUpdates is committed to the inbox table before
// the next getUpdates call confirms it, and a webhook is answered 200 only
// after its update is committed. Dispatch reads from the inbox, keeps each
// chat's updates in update_id order, and hands them to a Handler that marks
// the update done in the same transaction as its effects. The library is
// still used for what it does well: the update models and the API methods.
package bot
