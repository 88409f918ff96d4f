package load

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// depthSample is the bot's queues at one moment, read from its database.
type depthSample struct {
	at           time.Time
	pending      [3]int // outbox rows pending, by lane (interactive, edit, bulk)
	sending      int
	inboxBacklog int // updates stored but not handled yet
}

// sampler reads queue depths from the bot's database once a second. It
// reads the file the bot writes (WAL mode lets it, even across SIGKILLs),
// which is what an operator's dashboard would see.
type sampler struct {
	path string

	mu      sync.Mutex
	db      *store.DB
	samples []depthSample
}

func newSampler(path string) *sampler { return &sampler{path: path} }

// open opens the database once the bot has created it.
func (s *sampler) open(ctx context.Context) (*store.DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil {
		return s.db, nil
	}
	if !store.IsPostgresURL(s.path) {
		if _, err := os.Stat(s.path); err != nil {
			return nil, err
		}
	}
	db, err := store.OpenNoMigrate(ctx, s.path, store.Options{Readers: 2})
	if err != nil {
		return nil, err
	}
	s.db = db
	return db, nil
}

func (s *sampler) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if d, ok := s.sample(ctx); ok {
			s.mu.Lock()
			s.samples = append(s.samples, d)
			s.mu.Unlock()
		}
	}
}

func (s *sampler) sample(ctx context.Context) (depthSample, bool) {
	d := depthSample{at: time.Now()}
	db, err := s.open(ctx)
	if err != nil {
		return d, false
	}
	q, err := outbox.ReadQueue(ctx, db.R, d.at, 0)
	if err != nil {
		return d, false // not migrated yet, or busy: skip this second
	}
	d.sending = int(q.SendingTotal())
	for l, n := range q.Pending {
		d.pending[l] = int(n)
	}
	if db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM inbox WHERE done_at IS NULL`).Scan(&d.inboxBacklog) != nil {
		return d, false
	}
	return d, true
}

// drained reports whether the bot has nothing left to do: every update
// stored and handled, no message waiting or in flight.
func (s *sampler) drained(ctx context.Context, pushed int) bool {
	db, err := s.open(ctx)
	if err != nil {
		return false
	}
	var stored, open int
	err = db.R.QueryRowContext(ctx, `
SELECT (SELECT COUNT(*) FROM inbox), (SELECT COUNT(*) FROM inbox WHERE done_at IS NULL)`).Scan(&stored, &open)
	if err != nil {
		return false
	}
	queued, err := outbox.Unfinished(ctx, db.R)
	return err == nil && stored >= pushed && open == 0 && queued == 0
}

func (s *sampler) all() []depthSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]depthSample(nil), s.samples...)
}

func (s *sampler) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil {
		s.db.Close()
		s.db = nil
	}
}
