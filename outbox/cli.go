package outbox

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rsvpbot/rsvpbot/store"
)

// CLIUsage is the help text of CLI.
const CLIUsage = `usage: rsvpbot outbox COMMAND

commands:
  dead               list dead letters (messages that failed for good)
  show ID            show one message and every attempt made for it
  requeue ID         send a dead letter again (fresh attempt budget)
  requeue --all      send every dead letter again
  stats              queue depth and the last hour's counts

The bot may keep running: requeued messages are picked up within a second.`

// ErrUsage is wrapped by CLI errors about its arguments.
var ErrUsage = errors.New("usage error")

// CLI runs the outbox subcommands (rsvpbot outbox ...) against db, writing
// readable output to stdout. Argument errors wrap ErrUsage and include the
// usage text.
func CLI(ctx context.Context, db *store.DB, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageErr("missing command")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "dead":
		if len(rest) != 0 {
			return usageErr("dead takes no arguments")
		}
		return cliDead(ctx, db, stdout)
	case "show":
		if len(rest) != 1 {
			return usageErr("show takes one message id")
		}
		id, err := parseID(rest[0])
		if err != nil {
			return err
		}
		return cliShow(ctx, db, id, stdout)
	case "requeue":
		if len(rest) != 1 {
			return usageErr("requeue takes one message id, or --all")
		}
		if rest[0] == "--all" || rest[0] == "-all" {
			var n int64
			err := db.Tx(ctx, func(tx *sql.Tx) error {
				var err error
				n, err = RequeueAllDead(ctx, tx)
				return err
			})
			if err != nil {
				return fmt.Errorf("requeueing dead letters: %w", err)
			}
			fmt.Fprintf(stdout, "requeued %d dead letter(s)\n", n)
			return nil
		}
		id, err := parseID(rest[0])
		if err != nil {
			return err
		}
		if err := db.Tx(ctx, func(tx *sql.Tx) error { return Requeue(ctx, tx, id) }); err != nil {
			return fmt.Errorf("requeueing #%d: %w", id, err)
		}
		fmt.Fprintf(stdout, "requeued #%d\n", id)
		return nil
	case "stats":
		if len(rest) != 0 {
			return usageErr("stats takes no arguments")
		}
		return cliStats(ctx, db, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, CLIUsage)
		return nil
	default:
		return usageErr(fmt.Sprintf("unknown command %q", cmd))
	}
}

// CLIReadOnly reports whether the subcommand in args only reads (all but
// requeue): the caller opens the database read-only for it, so that it
// works on a read-only file or mount and cannot change anything.
func CLIReadOnly(args []string) bool {
	return len(args) == 0 || args[0] != "requeue"
}

func usageErr(msg string) error {
	return fmt.Errorf("%w: %s\n\n%s", ErrUsage, msg, CLIUsage)
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, usageErr(fmt.Sprintf("%q is not a message id", s))
	}
	return id, nil
}

func cliDead(ctx context.Context, db *store.DB, w io.Writer) error {
	rows, err := ListDead(ctx, db.R, 0)
	if err != nil {
		return fmt.Errorf("listing dead letters: %w", err)
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "no dead letters")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCHAT\tMETHOD\tATTEMPTS\tDEAD SINCE\tLAST ERROR")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%s\t%s\n", r.ID, r.ChatID, r.Method, r.Attempts,
			fmtTime(r.DoneAt), oneLine(r.LastError, 80))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d dead letter(s); `rsvpbot outbox show ID` for details, `rsvpbot outbox requeue ID|--all` to send again\n", len(rows))
	return nil
}

func cliShow(ctx context.Context, db *store.DB, id int64, w io.Writer) error {
	r, atts, err := Get(ctx, db.R, id)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	field := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	field("id", strconv.FormatInt(r.ID, 10))
	field("state", string(r.State))
	field("chat", strconv.FormatInt(r.ChatID, 10))
	field("method", r.Method)
	field("lane", r.Lane.String())
	field("attempts", fmt.Sprintf("%d (transient failures since queued: %d)", r.Attempts, r.Failures))
	field("created", fmtTime(r.CreatedAt))
	if r.State == StatePending {
		field("next attempt", fmtTime(r.NextAttemptAt))
	}
	if !r.SentAt.IsZero() {
		field("sent", fmtTime(r.SentAt))
	}
	if !r.DoneAt.IsZero() && r.State != StateSent {
		field("finished", fmtTime(r.DoneAt))
	}
	if r.TgMessageID != 0 {
		field("message id", strconv.Itoa(r.TgMessageID))
	}
	field("dedup key", r.DedupKey)
	field("coalesce key", r.CoalesceKey)
	field("fate ref", r.Ref)
	field("last error", r.LastError)
	if err := tw.Flush(); err != nil {
		return err
	}
	params := r.Params
	if len(params) > maxShownParams {
		params = params[:maxShownParams] + fmt.Sprintf("… (%d bytes in all)", len(r.Params))
	}
	fmt.Fprintf(w, "params:\n%s\n", indentJSON(params))
	if len(atts) == 0 {
		fmt.Fprintln(w, "\nno attempts yet")
		return nil
	}
	fmt.Fprintln(w, "\nattempts:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tAT\tOUTCOME\tHTTP\tCODE\tLATENCY\tDESCRIPTION")
	for _, a := range atts {
		outcome := a.Outcome
		if a.Ambiguous {
			outcome += " (ambiguous)"
		}
		desc := a.Description
		if a.RetryAfter > 0 {
			desc += fmt.Sprintf(" [retry_after %ds]", a.RetryAfter)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\t%s\n", a.Attempt, fmtTime(a.CreatedAt), outcome,
			a.HTTPStatus, a.ErrorCode, a.Latency, oneLine(desc, 100))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if last := atts[len(atts)-1]; len(last.Response) > 0 {
		fmt.Fprintf(w, "\nlast response:\n%s\n", indentJSON(string(last.Response)))
	}
	return nil
}

func cliStats(ctx context.Context, db *store.DB, w io.Writer) error {
	st, err := ReadQueue(ctx, db.R, time.Now(), time.Hour)
	if err != nil {
		return fmt.Errorf("reading stats: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "pending:\t%d (interactive %d, edit %d, bulk %d)\n", st.PendingTotal(),
		st.Pending[Interactive], st.Pending[Edit], st.Pending[Bulk])
	fmt.Fprintf(tw, "sending:\t%d\n", st.SendingTotal())
	fmt.Fprintf(tw, "dead:\t%d\n", st.DeadTotal())
	fmt.Fprintf(tw, "last hour:\tsent %d, failed attempts %d, 429s %d, retries %d, ambiguous %d, new dead %d\n",
		st.Sent, st.Failed, st.RateLimited, st.Retries, st.Ambiguous, st.DeadNew)
	fmt.Fprintf(tw, "enqueue→sent:\tp50 %s, p95 %s\n", st.LatencyP50, st.LatencyP95)
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, warn := range st.Warnings() {
		fmt.Fprintln(w, "warning:", warn)
	}
	return nil
}

// maxShownParams keeps a document's base64 bytes off the screen.
const maxShownParams = 4 << 10

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}

func indentJSON(s string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(s), "  ", "  ") != nil {
		return "  " + s
	}
	return "  " + b.String()
}
