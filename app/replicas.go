package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/scheduler"
	"github.com/rsvpbot/rsvpbot/store"
)

// Several replicas.
//
// On PostgreSQL any number of processes may run the bot on one database
// (docs/scaling.md). What every replica does: take webhooks, handle the
// chats it claims (bot.DispatcherConfig.Replica), send reminders it
// claims. What one replica at a time does, by lease (store/lease.go):
//   - "leader": getUpdates (Telegram admits one consumer per token), the
//     webhook and command-menu registration, and the housekeeping jobs;
//   - "sender": the outbox sender, since Telegram's limits are per token:
//     a new holder starts with an empty bucket, so a handover never bursts.
// On SQLite there is one process (the file lock) and no lease.

// Lease names.
const (
	leaseLeader = "leader"
	leaseSender = "sender"
)

// replicas is the App's part in a group of replicas (nil on SQLite).
type replicas struct {
	name   string
	leader *store.Lease
	sender *store.Lease
}

// defaultReplicaName names this process among the replicas: host and pid,
// which a reader of /readyz can find.
func defaultReplicaName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "replica"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

func newReplicas(db *store.DB, name string, timing Timing, log *slog.Logger) *replicas {
	if name == "" {
		name = defaultReplicaName()
	}
	cfg := store.LeaseConfig{Every: timing.LeaseEvery, TTL: timing.LeaseTTL, Logger: log.With("component", "lease")}
	return &replicas{
		name:   name,
		leader: store.NewLease(db, leaseLeader, name, cfg),
		sender: store.NewLease(db, leaseSender, name, cfg),
	}
}

// webhookConnections is the max_connections the webhook asks Telegram
// for: replicas take webhooks side by side (Telegram's default, 40; a
// chat's updates still come one at a time); a lone SQLite bot takes them
// one by one, in order, each a quick commit.
func webhookConnections(replicas bool) int {
	if replicas {
		return 40
	}
	return 1
}

// onEveryReplica reports whether the scheduled job name runs on every
// replica: the reminders, whose rows each replica claims with SKIP LOCKED
// (so a dead leader delays none); every other job is housekeeping, run
// by the leader alone.
func onEveryReplica(name string) bool { return name == "reminders" }

// leaderOnly makes a scheduled job a no-op on replicas that do not lead,
// and fences the leader's writes in it with the lease.
func (r *replicas) leaderOnly(run scheduler.Job) scheduler.Job {
	return func(ctx context.Context) (string, error) {
		if _, ok := r.leader.Held(); !ok {
			return "", nil
		}
		return run(r.leader.Fenced(ctx))
	}
}

// untilDone runs once and then waits for ctx: a one-off task for
// Lease.WhileHeld, which would run a returning task again.
func untilDone(f func(ctx context.Context) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := f(ctx); err != nil {
			return err
		}
		<-ctx.Done()
		return nil
	}
}

// leaseCheck is the /readyz line of the leases: who holds which, and
// how many chats each replica handles. It informs; it never fails.
func (r *replicas) leaseCheck(db *store.DB) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		ls, err := store.Leases(ctx, db.R)
		if err != nil {
			return "", err
		}
		now := db.Now()
		s := "this replica " + r.name + ";"
		for _, name := range []string{leaseLeader, leaseSender} {
			holder := "none"
			for _, l := range ls {
				if l.Name == name && l.Expires.After(now) {
					holder = fmt.Sprintf("%s (term %d, renewed, expires in %s)", l.Holder, l.Term, l.Expires.Sub(now).Round(time.Second))
				}
			}
			s += fmt.Sprintf(" %s: %s;", name, holder)
		}
		counts, err := store.ChatClaimCounts(ctx, db.R, now)
		if err != nil {
			return "", err
		}
		held := make([]string, 0, len(counts))
		for _, name := range slices.Sorted(maps.Keys(counts)) {
			held = append(held, fmt.Sprintf("%s %d", name, counts[name]))
		}
		if len(held) == 0 {
			held = append(held, "none")
		}
		s += " chats held: " + strings.Join(held, ", ")
		return s, nil
	}
}

// openDB opens the database. PostgreSQL that cannot be reached is retried
// with a backoff (logged once per change of reason), and meanwhile, with
// an ops address, /healthz answers 200 and /readyz 503 naming the reason;
// a URL or credentials no retry can fix (store.ErrBadURL) end it.
func (a *App) openDB(ctx context.Context) (*store.DB, error) {
	opts := outbox.WithSchema(store.Options{})
	db, err := store.Open(ctx, a.cfg.DB, opts)
	if err == nil || !store.IsPostgresURL(a.cfg.DB) || errors.Is(err, store.ErrBadURL) {
		return db, err
	}
	waiting := startWaitingServer(a, err)
	defer waiting.stop()
	last := err.Error()
	a.log.Warn("PostgreSQL is not reachable; retrying (RSVPBOT_DB)", "err", err)
	backoff := 500 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 15*time.Second)
		db, err = store.Open(ctx, a.cfg.DB, opts)
		if err == nil || errors.Is(err, store.ErrBadURL) {
			if err == nil {
				a.log.Info("PostgreSQL reachable")
			}
			return db, err
		}
		waiting.set(err)
		if err.Error() != last {
			last = err.Error()
			a.log.Warn("PostgreSQL is still not reachable; retrying (RSVPBOT_DB)", "err", err)
		}
	}
}

// waitingServer answers /healthz and /readyz while the database cannot be
// reached at start, on the listener the ops server takes over after.
type waitingServer struct {
	ln     deadliner
	srv    *http.Server
	reason chan string
	done   chan struct{}
}

func startWaitingServer(a *App, cause error) *waitingServer {
	w := &waitingServer{reason: make(chan string, 1), done: make(chan struct{})}
	w.reason <- cause.Error()
	if a.cfg.HTTPAddr == "" && a.cfg.Listener == nil {
		close(w.done)
		return w
	}
	ln := a.cfg.Listener
	if ln == nil {
		l, err := net.Listen("tcp", a.cfg.HTTPAddr)
		if err != nil {
			close(w.done)
			return w // listen() reports it once the database is there
		}
		ln = l
		a.cfg.Listener = l
	}
	dl, ok := ln.(deadliner)
	if !ok {
		close(w.done)
		return w
	}
	w.ln = dl
	ln = keepOpen{ln, dl}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { rw.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, _ *http.Request) {
		r := <-w.reason
		w.reason <- r
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(rw, "not ready\nFAIL database: PostgreSQL not reachable (retrying): %s\n", r)
	})
	// Anything else (a webhook, the message API) is refused as "try
	// again": Telegram redelivers what got no 2xx.
	mux.HandleFunc("/", func(rw http.ResponseWriter, _ *http.Request) {
		http.Error(rw, "starting: the database is not reachable yet", http.StatusServiceUnavailable)
	})
	w.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { defer close(w.done); w.srv.Serve(ln) }()
	return w
}

func (w *waitingServer) set(err error) {
	<-w.reason
	w.reason <- err.Error()
}

func (w *waitingServer) stop() {
	if w.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		w.srv.Shutdown(ctx)
		cancel()
	}
	<-w.done
	if w.ln != nil {
		w.ln.SetDeadline(time.Time{})
	}
}

// deadliner is a listener whose Accept can be interrupted (TCP's).
type deadliner interface{ SetDeadline(time.Time) error }

// keepOpen is a listener the waiting server serves on without closing it
// at its shutdown (Close only interrupts Accept): the ops server takes it
// over.
type keepOpen struct {
	net.Listener
	dl deadliner
}

func (k keepOpen) Close() error { return k.dl.SetDeadline(time.Now()) }
