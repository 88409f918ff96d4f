package outbox

// State is a row's state. A row is claimed only in StatePending and moves
// to one of the final states (sent, dead, dropped, replaced) exactly once,
// except that Requeue moves a dead row back to pending.
type State string

// Row states, as stored in outbox.state.
const (
	StatePending  State = "pending"
	StateSending  State = "sending"  // claimed; a call is (or was, before a crash) in flight
	StateSent     State = "sent"     // Telegram accepted it (or it was already in effect)
	StateDead     State = "dead"     // failed for good; waits for an operator (Requeue)
	StateDropped  State = "dropped"  // not sent on purpose: chat inactive, callback expired, group migrated
	StateReplaced State = "replaced" // superseded by a newer row with the same coalesce key
)

// States lists every state, queued ones first.
func States() []State {
	return []State{StatePending, StateSending, StateSent, StateDead, StateDropped, StateReplaced}
}

// Queued reports whether the row is still on its way (pending or sending).
func (s State) Queued() bool { return s == StatePending || s == StateSending }

// Delivered reports whether the row's call took effect at Telegram.
func (s State) Delivered() bool { return s == StateSent }

// Class is an attempt's outcome class, as written to ledger.outcome and
// given to the Observer.
type Class string

// Outcome classes.
const (
	ClassOK           Class = "ok"           // accepted
	ClassNotModified  Class = "not_modified" // edit with identical content: already in effect
	ClassGone         Class = "gone"         // deleteMessage of a message already deleted: already in effect
	ClassRateLimited  Class = "rate_limited" // 429
	ClassBlocked      Class = "blocked"      // 403: blocked, kicked, deactivated, deleted
	ClassMigrated     Class = "migrated"     // 400 with migrate_to_chat_id
	ClassExpired      Class = "expired"      // answerCallbackQuery too late: nobody is waiting any more
	ClassBadRequest   Class = "bad_request"  // other 400: retrying cannot help
	ClassInvalid      Class = "invalid"      // the stored call cannot be made at all (bad params, unknown method)
	ClassUnauthorized Class = "unauthorized" // 401/404: the bot's token or API URL is wrong
	ClassServerError  Class = "server_error" // 5xx and other unexpected answers
	ClassNetwork      Class = "network"      // no response, and the request certainly did not reach Telegram
	ClassAmbiguous    Class = "ambiguous"    // no response, and the request may have been acted on
	ClassInterrupted  Class = "interrupted"  // the process died during the call (found 'sending' at start)
)

// Classes lists every outcome class.
func Classes() []Class {
	return []Class{ClassOK, ClassNotModified, ClassGone, ClassRateLimited, ClassBlocked, ClassMigrated, ClassExpired,
		ClassBadRequest, ClassInvalid, ClassUnauthorized, ClassServerError, ClassNetwork, ClassAmbiguous, ClassInterrupted}
}

// Delivered reports whether the attempt took effect: accepted, or what it
// asked was already in effect. Every other class is a failed attempt (what
// Queue.Failed counts).
func (c Class) Delivered() bool { return c == ClassOK || c == ClassNotModified || c == ClassGone }

// Retrying reports whether the row is tried again after an attempt of
// this class by itself (a 429, a transient failure, a crash, a pause for a
// rejected token), rather than reaching a final state.
func (c Class) Retrying() bool {
	switch c {
	case ClassRateLimited, ClassServerError, ClassNetwork, ClassAmbiguous, ClassInterrupted, ClassUnauthorized:
		return true
	}
	return false
}

// Reachable reports whether an attempt of this class proves that the Bot
// API answered: any answer does (a 400, a 429), except one rejecting the
// bot's credentials; no answer does not.
func (c Class) Reachable() bool {
	switch c {
	case ClassNetwork, ClassAmbiguous, ClassInterrupted, ClassUnauthorized:
		return false
	}
	return true
}
