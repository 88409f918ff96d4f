package outbox

import "time"

// Observer receives the sender's events, for metrics. Methods are called
// from several goroutines at once, after the database records the event,
// and must not block. Embed NopObserver to implement only some of them
// (and to keep compiling when methods are added).
type Observer interface {
	// Attempt is one call's outcome (a Class* value) and how long the call
	// took. Rows found 'sending' after a crash are reported with
	// ClassInterrupted and zero latency.
	Attempt(method string, class Class, latency time.Duration)
	// RateLimited is a 429; global is true when it started (or extended) a
	// pause of all sending.
	RateLimited(chatID int64, retryAfter time.Duration, global bool)
	// Retry is a row scheduled for another attempt after a transient
	// failure (class) with the given delay.
	Retry(method string, class Class, delay time.Duration)
	// DeadLetter is a row that failed for good.
	DeadLetter(method string, class Class)
	// Dropped is a row not sent on purpose; reason is DropChatInactive
	// (found inactive when claimed), ClassBlocked (the 403 itself and the
	// queue it drops) or ClassExpired.
	Dropped(method, reason string)
	// Sent is a row delivered, with the time from Enqueue to delivery.
	Sent(method string, lane Lane, sinceEnqueue time.Duration)
	// Reachability is the sender's view of the Bot API as a whole:
	// reachable false when it paused all sending because calls failed
	// across chats and its first probe failed too, true when a probe or
	// trial call got through again. since is when the outage began (its
	// first failed call) in both.
	Reachability(reachable bool, since time.Time)
}

// DropChatInactive is the Dropped reason for rows of a chat already marked
// inactive when they were reached.
const DropChatInactive = "chat_inactive"

// NopObserver ignores everything; it is the default.
type NopObserver struct{}

func (NopObserver) Attempt(string, Class, time.Duration)   {}
func (NopObserver) RateLimited(int64, time.Duration, bool) {}
func (NopObserver) Retry(string, Class, time.Duration)     {}
func (NopObserver) DeadLetter(string, Class)               {}
func (NopObserver) Dropped(string, string)                 {}
func (NopObserver) Sent(string, Lane, time.Duration)       {}
func (NopObserver) Reachability(bool, time.Time)           {}

// Clock is the sender's time source. Tests inject a fake one to check
// pacing and backoff without sleeping.
type Clock interface {
	Now() time.Time
	// At returns a channel that receives once the clock reaches t (at once
	// if it already has). Deadlines are absolute so that a fake clock moved
	// while the sender was computing one cannot make it wait too long.
	At(t time.Time) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                  { return time.Now() }
func (realClock) At(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }
