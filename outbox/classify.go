package outbox

import (
	"errors"
	"strings"
	"time"

	tgbot "github.com/go-telegram/bot"

	"github.com/rsvpbot/rsvpbot/bot"
)

// action is what the sender does with a row after an attempt.
type action int

const (
	actSent    action = iota // mark sent
	actRetry                 // transient: back off, counts toward the attempt limit
	actWait                  // 429: wait retry_after, does not count
	actBlock                 // 403: chat inactive, drop its queue
	actMigrate               // move the chat and resend
	actDead                  // dead letter now
	actDrop                  // drop without alarm (expired)
	actPause                 // whole-bot fault: pause everything, does not count
)

type outcome struct {
	class      Class
	act        action
	ambiguous  bool
	retryAfter time.Duration // for actWait
	migrateTo  int64         // for actMigrate
	desc       string        // for the row's last_error and logs
}

// classify turns a call's result into what to do next. Result fields come
// first (they hold Telegram's error_code and parameters); the library's
// typed errors are the fallback for a Caller that fills only the error.
func classify(method string, res bot.Result, err error) outcome {
	code := res.ErrorCode
	if code == 0 && err != nil && res.HTTPStatus >= 400 {
		code = res.HTTPStatus
	}
	desc := res.Description
	if desc == "" && err != nil {
		desc = err.Error()
	}
	var tmr *tgbot.TooManyRequestsError
	var mig *tgbot.MigrateError
	switch {
	case err == nil && code == 0:
		return outcome{class: ClassOK, act: actSent}
	case errors.Is(err, bot.ErrBadParams), errors.Is(err, bot.ErrUnknownMethod):
		return outcome{class: ClassInvalid, act: actDead, desc: desc}
	case code == 429 || errors.As(err, &tmr):
		ra := res.RetryAfter
		if ra == 0 && tmr != nil {
			ra = tmr.RetryAfter
		}
		if ra <= 0 {
			ra = 1
		}
		return outcome{class: ClassRateLimited, act: actWait, retryAfter: time.Duration(ra) * time.Second, desc: desc}
	case res.MigrateTo != 0 || errors.As(err, &mig):
		to := res.MigrateTo
		if to == 0 && mig != nil {
			to = int64(mig.MigrateToChatID)
		}
		return outcome{class: ClassMigrated, act: actMigrate, migrateTo: to, desc: desc}
	case code == 403 || errors.Is(err, tgbot.ErrorForbidden):
		return outcome{class: ClassBlocked, act: actBlock, desc: desc}
	case code == 400 || errors.Is(err, tgbot.ErrorBadRequest):
		d := strings.ToLower(desc)
		switch {
		case strings.Contains(d, "message is not modified"):
			return outcome{class: ClassNotModified, act: actSent, desc: desc}
		case method == "deleteMessage" && strings.Contains(d, "message to delete not found"):
			// A retried delete whose first call did get through.
			return outcome{class: ClassGone, act: actSent, desc: desc}
		case (method == "answerCallbackQuery" || method == "answerInlineQuery") && (strings.Contains(d, "query is too old") || strings.Contains(d, "query id is invalid")):
			return outcome{class: ClassExpired, act: actDrop, desc: desc}
		case strings.HasPrefix(method, "editMessage") && strings.Contains(d, "message_id_invalid"):
			// An inline message that no longer exists (deleted in its
			// chat): nothing to edit, nothing to requeue.
			return outcome{class: ClassGone, act: actDrop, desc: desc}
		}
		return outcome{class: ClassBadRequest, act: actDead, desc: desc}
	case code == 401 || code == 404 || errors.Is(err, tgbot.ErrorUnauthorized) || errors.Is(err, tgbot.ErrorNotFound):
		return outcome{class: ClassUnauthorized, act: actPause, desc: desc}
	case res.HTTPStatus == 0 && code == 0:
		// No response at all: a connection error or timeout.
		if res.Sent {
			return outcome{class: ClassAmbiguous, act: actRetry, ambiguous: true, desc: desc}
		}
		return outcome{class: ClassNetwork, act: actRetry, desc: desc}
	case res.HTTPStatus == 200 && code == 0:
		// A 200 whose body could not be read or decoded: Telegram most
		// likely acted on it.
		return outcome{class: ClassAmbiguous, act: actRetry, ambiguous: true, desc: desc}
	}
	// 5xx, 409 and anything else unexpected: transient. A 5xx is also
	// ambiguous: Telegram's front end can fail after its back end acted.
	return outcome{class: ClassServerError, act: actRetry, ambiguous: res.HTTPStatus >= 500 || code >= 500, desc: desc}
}

// backoff is the delay before retry number n (n = 1 after the first
// failure): base·2^(n-1), ±20% jitter, never above ceiling. jitter is uniform in
// [0, 1).
func backoff(n int, base, ceiling time.Duration, jitter float64) time.Duration {
	d := base
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	d = time.Duration(float64(d) * (0.8 + 0.4*jitter))
	return min(d, ceiling)
}
