// Package seed builds a large, realistic rsvpbot database quickly, for
// benchmarks and load tests of the bot as a community grows: at scale 1,
// 100k users, 20k groups, 100k events (past and upcoming, some of them
// occurrences of weekly series), about 1M RSVPs, 2M ledger rows over 120
// days, 500k finished outbox rows and 200k reminders.
//
// The schema is the real one: the caller opens the database with
// store.Open (and outbox.WithSchema), which runs every migration; Run then
// writes rows with plain SQL in large transactions of prepared statements,
// straight on the writer connection.
//
// Whatever the scale, Run also writes the same small set of fixtures the
// benchmarks act on (Fixtures), so that a database seeded at scale 0 is
// the "empty" database to compare a large one with: the same hot chat,
// event and people, without the crowd around them.
package seed

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// Full-scale sizes (Config.Scale 1).
const (
	FullUsers     = 100_000
	FullGroups    = 20_000
	FullEvents    = 100_000
	FullRSVPs     = 1_000_000 // approximately: attendee counts are drawn
	FullLedger    = 2_000_000
	FullOutbox    = 500_000
	FullReminders = 200_000 // approximately: two per event that has them
	FullInbox     = 100_000
	FullSeries    = 2_000
	// History is how far back the ledger, outbox, inbox and past events go.
	History = 120 * 24 * time.Hour
	// Ahead is how far ahead upcoming events go.
	Ahead = 60 * 24 * time.Hour
)

// Fixture sizes: present at every scale.
const (
	HotChatMembers = 600 // members of the hot group
	HotAttendees   = 500 // going to the big event
	HotUpcoming    = 30  // upcoming events of the hot group (the busy user goes to all)
	HotPast        = 100 // past events of the hot group
	DueMinutes     = 10  // minutes after Now in which reminders fall due
	DuePerMinute   = 20  // events whose 1h reminder falls due in each of those minutes
	DueAttendees   = 10  // going to each of those events
	// FixtureEvents and FixtureUsers are the fixtures' events and people
	// (the hot chat's members, then the due reminders' attendees); the
	// crowd's events come after them, and the crowd's people include them.
	FixtureEvents   = HotPast + HotUpcoming + DueMinutes*DuePerMinute
	FixtureUsers    = HotChatMembers + DueMinutes*DuePerMinute*DueAttendees
	FirstUserID     = 1_000_000
	FirstGroupID    = -1_001_000_000_000
	ReminderOffsets = "86400000,3600000" // store.OffsetsKey of scheduler.DefaultOffsets
)

// Config says what to build.
type Config struct {
	// Scale multiplies the full-scale sizes; 0 builds only the fixtures.
	Scale float64
	// Seed makes the random choices repeatable.
	Seed uint64
	// Now is the instant the data is built around: past events and the
	// ledger lie before it, upcoming events and due reminders after it.
	Now time.Time
	// Batch is how many rows one transaction writes (default 50,000).
	Batch int
	// Progress, if set, hears each step's name and time when it ends.
	Progress func(step string, took time.Duration)
}

// Fixtures are the rows benchmarks act on, the same at every scale.
type Fixtures struct {
	HotChat  int64 // a group with HotChatMembers members, HotUpcoming upcoming and HotPast past events
	BigEvent int64 // an upcoming event of HotChat with HotAttendees going and a posted card
	// BigEventCard is the message id of BigEvent's card in HotChat.
	BigEventCard int
	// BusyUser started the bot, is going to every upcoming event of
	// HotChat, and is a bot admin in the benchmarks.
	BusyUser int64
	// Members are HotChat's members (BusyUser first), all of whom started
	// the bot.
	Members []int64
	// DueFrom is the first minute in which fixture reminders fall due
	// (Now + 1 min); DueMinutes minutes have DuePerMinute each.
	DueFrom time.Time
}

// FixturesAt returns the fixtures of a database seeded around now, at any
// scale: they are written first, so their ids do not depend on the scale.
func FixturesAt(now time.Time) Fixtures {
	members := make([]int64, HotChatMembers)
	for i := range members {
		members[i] = userID(i)
	}
	return Fixtures{HotChat: FirstGroupID, BigEvent: HotPast + 1, BigEventCard: HotPast + 1, BusyUser: members[0],
		Members: members, DueFrom: now.Add(time.Minute).Truncate(time.Minute)}
}

// Counts are the rows written per table.
type Counts struct {
	Users, Chats, ChatMembers, Events, Series, RSVPs, EventCards int
	Reminders, ReminderPlans, Outbox, Ledger, Inbox              int
}

func (c Counts) String() string {
	return fmt.Sprintf("users %d, chats %d, chat_members %d, events %d, series %d, rsvps %d, event_cards %d, reminders %d, reminder_plans %d, outbox %d, ledger %d, inbox %d",
		c.Users, c.Chats, c.ChatMembers, c.Events, c.Series, c.RSVPs, c.EventCards, c.Reminders, c.ReminderPlans, c.Outbox, c.Ledger, c.Inbox)
}

// Result is what Run built.
type Result struct {
	Counts   Counts
	Fixtures Fixtures
}

func scaled(full int, s float64) int { return int(math.Round(float64(full) * s)) }

// Run writes the rows into db, which must be freshly migrated and empty.
func Run(ctx context.Context, db *store.DB, cfg Config) (Result, error) {
	if cfg.Scale < 0 {
		return Result{}, fmt.Errorf("scale %v: must be 0 or more", cfg.Scale)
	}
	if cfg.Now.IsZero() {
		return Result{}, fmt.Errorf("seed: Now is not set")
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 50_000
	}
	var n int
	if err := db.R.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
		return Result{}, err
	}
	if n > 0 {
		return Result{}, fmt.Errorf("seed: the database already has %d events; seed an empty one", n)
	}
	s := &seeder{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), now: store.Millis(cfg.Now)}
	conn, err := db.W.Conn(ctx)
	if err != nil {
		return Result{}, err
	}
	s.w = &writer{ctx: ctx, conn: conn, batch: cfg.Batch}
	defer s.w.close()
	// A seed that fails is thrown away: no fsync per commit, and a big
	// page cache for the index inserts. Both last only for this
	// connection's seeding (restored below).
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = OFF`); err != nil {
		return Result{}, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = NORMAL`)
	var cache int
	if err := conn.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&cache); err != nil {
		return Result{}, err
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA cache_size = -131072`); err != nil {
		return Result{}, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA cache_size = %d`, cache))
	// Indexes are dropped while the rows go in and made again from their
	// own CREATE statements afterwards (sorting once is much quicker than
	// inserting into every index row by row); the schema ends identical.
	indexes, err := dropIndexes(ctx, conn)
	if err != nil {
		return Result{}, err
	}
	steps := []struct {
		name string
		fn   func() error
	}{{"users", s.writeUsers}, {"groups", s.writeGroups}, {"fixtures", s.fixtureEvents}, {"events", s.bulkEvents},
		{"outbox", s.outboxAndLedger}, {"inbox", s.inbox}}
	for _, step := range steps {
		began := time.Now()
		if err := step.fn(); err != nil {
			return Result{}, err
		}
		if cfg.Progress != nil {
			cfg.Progress(step.name, time.Since(began))
		}
	}
	if err := s.w.commit(); err != nil {
		return Result{}, err
	}
	// Every seeded event has its current plan: nothing for the reminder
	// job's replan queue, as after a running bot's ticks.
	// (A database of an older schema, without the queue, is seeded too:
	// benchmarks compare against older binaries.)
	var queue int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'reminder_replan'`).Scan(&queue); err != nil {
		return Result{}, err
	}
	if queue > 0 {
		if _, err := conn.ExecContext(ctx, `DELETE FROM reminder_replan`); err != nil {
			return Result{}, err
		}
	}
	began := time.Now()
	for _, ddl := range indexes {
		if _, err := conn.ExecContext(ctx, ddl); err != nil {
			return Result{}, fmt.Errorf("recreating an index: %w\n%s", err, ddl)
		}
	}
	if cfg.Progress != nil {
		cfg.Progress("indexes", time.Since(began))
	}
	return Result{Counts: s.counts, Fixtures: s.fx}, nil
}

// dropIndexes drops every explicitly created index and returns the
// statements that create them again.
func dropIndexes(ctx context.Context, conn *sql.Conn) ([]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var names, ddl []string
	for rows.Next() {
		var name, q string
		if err := rows.Scan(&name, &q); err != nil {
			rows.Close()
			return nil, err
		}
		names, ddl = append(names, name), append(ddl, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, err := conn.ExecContext(ctx, `DROP INDEX "`+name+`"`); err != nil {
			return nil, err
		}
	}
	return ddl, nil
}

type seeder struct {
	cfg    Config
	rng    *rand.Rand
	w      *writer
	now    int64 // ms
	counts Counts
	fx     Fixtures

	users   int       // users written: ids FirstUserID .. FirstUserID+users-1
	started []bool    // by user index
	groups  []int64   // group chat ids; groups[0] is the hot chat
	members [][]int64 // by group index
	weights []float64 // cumulative event weights of groups[1:]
	eventID int64
	cardMsg map[int64]int // next message id per chat
}

const (
	minute = int64(time.Minute / time.Millisecond)
	hour   = 60 * minute
	day    = 24 * hour
)

var (
	firstNames = []string{"Anna", "Ben", "Carla", "David", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Luca", "Mia", "Nils", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Umut", "Vera", "Wen", "Xenia", "Yusuf", "Zoe"}
	lastNames  = []string{"", "", "Müller", "García", "Ivanova", "Smith", "Rossi", "Nowak", "Kaya", "Dubois", "Schmidt", "Silva"}
	languages  = []string{"en", "en", "en", "de", "de", "es", "ru", "fr", "it", "pt", ""}
	titles     = []string{"Board games night", "Morning run", "Climbing", "Book club", "Pub quiz", "Language exchange", "Volleyball", "Hiking", "Open mic", "Pottery", "Chess", "Salsa class", "Cinema", "Brunch", "Coding dojo", "Photo walk"}
	places     = []string{"", "", "Café Central", "Park entrance", "Community hall, Main St 4", "The Old Pub", "Library room 2", "Boulder gym"}
	zones      = []string{"Europe/Berlin", "Europe/Berlin", "Europe/Madrid", "Europe/London", "America/New_York", "Asia/Tokyo", ""}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func userID(i int) int64 { return int64(FirstUserID + i) }

func (s *seeder) writeUsers() error {
	n := max(scaled(FullUsers, s.cfg.Scale), FixtureUsers)
	s.users = n
	s.started = make([]bool, n)
	st, err := s.w.prep(`INSERT INTO users (id, username, first_name, last_name, language, chosen_lang, started, blocked, first_seen, last_seen)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	chat, err := s.w.prep(`INSERT INTO chats (id, type, title, username, language, active, inactive_reason, first_seen, last_seen)
VALUES (?, 'private', '', ?, '', ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for i := range n {
		// The fixtures' people (the hot chat and the due reminders' attendees) all started the bot.
		fixture := i < FixtureUsers
		started := fixture || s.rng.Float64() < 0.7
		blocked := !fixture && started && s.rng.Float64() < 0.04
		s.started[i] = started && !blocked
		first := s.now - int64(s.rng.Float64()*float64(History/time.Millisecond)*1.5)
		last := first + int64(s.rng.Float64()*float64(s.now-first))
		username := ""
		if s.rng.Float64() < 0.6 {
			username = fmt.Sprintf("user%d", i)
		}
		chosen := ""
		if s.rng.Float64() < 0.05 {
			chosen = pick(s.rng, languages)
		}
		id := userID(i)
		if err := s.w.exec(st, id, username, pick(s.rng, firstNames), pick(s.rng, lastNames), pick(s.rng, languages), chosen,
			started, blocked, first, last); err != nil {
			return fmt.Errorf("users: %w", err)
		}
		s.counts.Users++
		if started {
			reason := ""
			if blocked {
				reason = "blocked"
			}
			if err := s.w.exec(chat, id, username, !blocked, reason, first, last); err != nil {
				return fmt.Errorf("private chats: %w", err)
			}
			s.counts.Chats++
		}
	}
	return nil
}

// groups writes the groups and their members. Group sizes are skewed (a
// few groups of thousands, most of a dozen or two); each member is a
// distinct random user. groups[0] is the hot chat, whose members are the
// first HotChatMembers users.
func (s *seeder) writeGroups() error {
	n := 1 + scaled(FullGroups, s.cfg.Scale)
	st, err := s.w.prep(`INSERT INTO chats (id, type, title, username, language, timezone, active, inactive_reason, first_seen, last_seen)
VALUES (?, ?, ?, '', ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	mem, err := s.w.prep(`INSERT INTO chat_members (chat_id, user_id, first_seen, last_seen) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	// Rank sizes, then shuffle them over the groups so big groups are not
	// all at one end of the id range.
	sizes := make([]int, n-1)
	for r := range sizes {
		// The rank is taken at full scale, so a smaller seed has the
		// same mix of sizes, only fewer groups.
		sizes[r] = min(s.users, 15+int(3000*math.Pow(float64(r+1)/s.cfg.Scale, -0.7)))
	}
	s.rng.Shuffle(len(sizes), func(i, j int) { sizes[i], sizes[j] = sizes[j], sizes[i] })
	s.groups = make([]int64, n)
	s.members = make([][]int64, n)
	s.weights = make([]float64, 0, n-1)
	total := 0.0
	for g := range n {
		id := int64(FirstGroupID - g)
		s.groups[g] = id
		var members []int64
		if g == 0 {
			for i := range HotChatMembers {
				members = append(members, userID(i))
			}
		} else {
			size := sizes[g-1]
			seen := make(map[int]bool, size)
			for len(members) < size {
				i := s.rng.IntN(s.users)
				if !seen[i] {
					seen[i] = true
					members = append(members, userID(i))
				}
			}
			slices.Sort(members)
			total += math.Sqrt(float64(size))
			s.weights = append(s.weights, total)
		}
		s.members[g] = members
		first := s.now - int64(s.rng.Float64()*float64(History/time.Millisecond)*2)
		active := g == 0 || s.rng.Float64() < 0.95
		reason := ""
		if !active {
			reason = "kicked"
		}
		kind := "supergroup"
		if s.rng.Float64() < 0.1 {
			kind = "group"
		}
		title := fmt.Sprintf("%s club %d", pick(s.rng, titles), g)
		if err := s.w.exec(st, id, kind, title, pick(s.rng, languages[:4]), pick(s.rng, zones), active, reason, first, s.now-int64(s.rng.IntN(int(7*day)))); err != nil {
			return fmt.Errorf("groups: %w", err)
		}
		s.counts.Chats++
		for _, u := range members {
			seen := first + int64(s.rng.Float64()*float64(s.now-first))
			if err := s.w.exec(mem, id, u, seen, seen); err != nil {
				return fmt.Errorf("chat members: %w", err)
			}
			s.counts.ChatMembers++
		}
	}
	return nil
}

// event is one event to write with its people.
type event struct {
	chat      int64
	creator   int64
	title     string
	place     string
	tz        string
	startsAt  int64
	capacity  int
	cancelled bool
	series    int64
	going     []int64 // in the order they answered
	others    []int64 // maybe or declined
}

type eventWriter struct {
	ev, rsvp, card, rem, plan *sql.Stmt
}

func (s *seeder) eventStmts() (*eventWriter, error) {
	var ew eventWriter
	var err error
	if ew.ev, err = s.w.prep(`INSERT INTO events (id, chat_id, creator_id, title, description, place, starts_at, timezone, capacity, status, series_id,
    version, seq, share_code, created_at, updated_at, cancelled_at, weather_checked_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)`); err != nil {
		return nil, err
	}
	if ew.rsvp, err = s.w.prep(`INSERT INTO rsvps (event_id, user_id, status, guests, position, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`); err != nil {
		return nil, err
	}
	if ew.card, err = s.w.prep(`INSERT INTO event_cards (event_id, chat_id, message_id, lang, version, created_at) VALUES (?, ?, ?, '', 1, ?)`); err != nil {
		return nil, err
	}
	if ew.rem, err = s.w.prep(`INSERT INTO reminders (event_id, offset_ms, due_at, starts_at, sent_at, outcome, recipients, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`); err != nil {
		return nil, err
	}
	if ew.plan, err = s.w.prep(`INSERT INTO reminder_plans (event_id, starts_at, spec, offsets, planned_at) VALUES (?, ?, '', ?, ?)`); err != nil {
		return nil, err
	}
	return &ew, nil
}

// shareCode is a 10-character base62 code unique to id (a bijection of
// the id space onto codes, so no two events share one).
func shareCode(id int64) string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	const space = 839299365868340224 // 62^10
	v := uint64((id*2654435761 + 12345) % space)
	var b [10]byte
	for i := range b {
		b[9-i] = digits[v%62]
		v /= 62
	}
	return string(b[:])
}

// write writes ev with its RSVPs, its card and its reminders, and returns
// its id and card message id.
func (s *seeder) write(ew *eventWriter, ev event) (int64, int, error) {
	s.eventID++
	id := s.eventID
	created := min(ev.startsAt-int64(s.rng.IntN(int(14*day)))-hour, s.now-minute)
	status := "active"
	var cancelledAt any
	if ev.cancelled {
		status = "cancelled"
		cancelledAt = min(ev.startsAt-hour, s.now-minute)
	}
	var series any
	if ev.series != 0 {
		series = ev.series
	}
	seq := len(ev.going) + len(ev.others)
	if err := s.w.exec(ew.ev, id, ev.chat, ev.creator, ev.title, "", ev.place, ev.startsAt, ev.tz, ev.capacity, status, series,
		seq, shareCode(id), created, created, cancelledAt, 0); err != nil {
		return 0, 0, fmt.Errorf("events: %w", err)
	}
	s.counts.Events++
	// RSVPs: going ones first in answer order (past capacity: waitlist),
	// then maybe/declined; positions are handed out in that order.
	pos := 0
	answered := created
	seats := 0
	goingSeats := 0
	for _, u := range ev.going {
		pos++
		answered += int64(s.rng.IntN(int(hour)))
		guests := 0
		if s.rng.Float64() < 0.08 {
			guests = 1
		}
		st := "going"
		if ev.capacity > 0 && seats+1+guests > ev.capacity {
			st, guests = "waitlist", 0
		} else {
			seats += 1 + guests
			goingSeats++
		}
		if err := s.w.exec(ew.rsvp, id, u, st, guests, pos, answered, answered); err != nil {
			return 0, 0, fmt.Errorf("rsvps: %w", err)
		}
		s.counts.RSVPs++
	}
	for _, u := range ev.others {
		pos++
		answered += int64(s.rng.IntN(int(hour)))
		st := "maybe"
		if s.rng.Float64() < 0.45 {
			st = "declined"
		}
		if err := s.w.exec(ew.rsvp, id, u, st, 0, pos, answered, answered); err != nil {
			return 0, 0, fmt.Errorf("rsvps: %w", err)
		}
		s.counts.RSVPs++
	}
	msg := s.cardMsg[ev.chat] + 1
	s.cardMsg[ev.chat] = msg
	if err := s.w.exec(ew.card, id, ev.chat, msg, created); err != nil {
		return 0, 0, fmt.Errorf("event cards: %w", err)
	}
	s.counts.EventCards++
	if ev.cancelled {
		return id, msg, nil
	}
	// Reminders: the default offsets, 24h and 1h; sent ones for past
	// events, pending ones (with the plan the scheduler would have made)
	// for upcoming ones, unless the due time had passed at creation.
	for _, off := range []int64{24 * hour, hour} {
		due := ev.startsAt - off
		if due <= created {
			continue
		}
		var sentAt any
		outcome := ""
		recipients := 0
		if due <= s.now {
			sentAt, outcome, recipients = due+int64(s.rng.IntN(20_000)), store.ReminderSent, goingSeats
		}
		if err := s.w.exec(ew.rem, id, off, due, ev.startsAt, sentAt, outcome, recipients, created); err != nil {
			return 0, 0, fmt.Errorf("reminders: %w", err)
		}
		s.counts.Reminders++
	}
	if ev.startsAt > s.now {
		if err := s.w.exec(ew.plan, id, ev.startsAt, ReminderOffsets, created); err != nil {
			return 0, 0, fmt.Errorf("reminder plans: %w", err)
		}
		s.counts.ReminderPlans++
	}
	return id, msg, nil
}

// fixtureEvents writes the hot chat's events and the events whose
// reminders fall due in the minutes after Now.
func (s *seeder) fixtureEvents() error {
	s.cardMsg = map[int64]int{}
	ew, err := s.eventStmts()
	if err != nil {
		return err
	}
	hot := s.groups[0]
	members := s.members[0]
	s.fx = FixturesAt(s.cfg.Now)
	for k := range HotPast {
		ev := event{chat: hot, creator: members[1+k%20], title: pick(s.rng, titles), place: pick(s.rng, places), tz: "Europe/Berlin",
			startsAt: s.now - int64(k+1)*day + 19*hour%day}
		ev.going = sample(s.rng, members, 5+s.rng.IntN(30))
		if _, _, err := s.write(ew, ev); err != nil {
			return err
		}
	}
	for k := range HotUpcoming {
		ev := event{chat: hot, creator: members[1+k%20], title: pick(s.rng, titles), place: pick(s.rng, places), tz: "Europe/Berlin",
			startsAt: s.now + int64(k+2)*day}
		if k == 0 {
			ev.title, ev.creator = "Summer festival", members[1]
			ev.going = slices.Clone(members[:HotAttendees])
			ev.others = slices.Clone(members[HotAttendees:])
		} else {
			ev.going = append([]int64{members[0]}, sample(s.rng, members[1:], 5+s.rng.IntN(30))...)
		}
		id, msg, err := s.write(ew, ev)
		if err != nil {
			return err
		}
		if k == 0 && (id != s.fx.BigEvent || msg != s.fx.BigEventCard) {
			return fmt.Errorf("seed: the big event is %d (card %d), FixturesAt says %d (card %d)", id, msg, s.fx.BigEvent, s.fx.BigEventCard)
		}
	}
	// Due reminders: events in their own groups (like the scheduler
	// benchmark's), attended by people who started the bot, starting an
	// hour after each of the DueMinutes minutes after Now.
	st, err := s.w.prep(`INSERT INTO chats (id, type, title, timezone, first_seen, last_seen) VALUES (?, 'supergroup', ?, 'Europe/Berlin', ?, ?)`)
	if err != nil {
		return err
	}
	mem, err := s.w.prep(`INSERT INTO chat_members (chat_id, user_id, first_seen, last_seen) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	next := HotChatMembers
	from := store.Millis(s.fx.DueFrom)
	for m := range DueMinutes {
		for k := range DuePerMinute {
			chat := int64(FirstGroupID - 900_000_000 - m*DuePerMinute - k)
			if err := s.w.exec(st, chat, fmt.Sprintf("Due %d/%d", m, k), s.now-30*day, s.now); err != nil {
				return fmt.Errorf("chats: %w", err)
			}
			s.counts.Chats++
			ev := event{chat: chat, creator: userID(next), title: pick(s.rng, titles), tz: "Europe/Berlin",
				startsAt: from + int64(m)*minute + hour + int64(k)*1000}
			for range DueAttendees {
				ev.going = append(ev.going, userID(next))
				if err := s.w.exec(mem, chat, userID(next), s.now-30*day, s.now-day); err != nil {
					return fmt.Errorf("chat members: %w", err)
				}
				s.counts.ChatMembers++
				next++
			}
			if _, _, err := s.write(ew, ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// sample picks n distinct members (fewer if there are fewer), in random order.
func sample(r *rand.Rand, members []int64, n int) []int64 {
	n = min(n, len(members))
	if n*3 > len(members) {
		p := r.Perm(len(members))[:n]
		out := make([]int64, n)
		for i, j := range p {
			out[i] = members[j]
		}
		return out
	}
	seen := make(map[int]bool, n)
	out := make([]int64, 0, n)
	for len(out) < n {
		j := r.IntN(len(members))
		if !seen[j] {
			seen[j] = true
			out = append(out, members[j])
		}
	}
	return out
}

// bulkEvents writes the crowd: weekly series and one-off events spread
// over the groups (bigger groups hold more events), 70% of them past.
func (s *seeder) bulkEvents() error {
	total := scaled(FullEvents, s.cfg.Scale)
	if total == 0 || len(s.groups) < 2 {
		return nil
	}
	ew, err := s.eventStmts()
	if err != nil {
		return err
	}
	ser, err := s.w.prep(`INSERT INTO series (id, chat_id, creator_id, schedule, schedule_text, timezone, title, current_event_id, current_slot, next_at, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, 'Europe/Berlin', ?, NULL, 0, ?, ?, ?)`)
	if err != nil {
		return err
	}
	setCurrent, err := s.w.prep(`UPDATE series SET current_event_id = ?, current_slot = ? WHERE id = ?`)
	if err != nil {
		return err
	}
	pickGroup := func() int {
		x := s.rng.Float64() * s.weights[len(s.weights)-1]
		i, _ := slices.BinarySearch(s.weights, x)
		return 1 + min(i, len(s.weights)-1)
	}
	// Attendees per event: log-normal, median 9, mean about 10, a long
	// tail, bounded by the group's size.
	people := func(g int) (going, others []int64) {
		n := int(math.Exp(2.2 + 0.9*s.rng.NormFloat64()))
		who := sample(s.rng, s.members[g], n)
		cut := int(float64(len(who)) * 0.7)
		return who[:cut], who[cut:]
	}
	const weeks = 10
	nSeries := min(scaled(FullSeries, s.cfg.Scale), total/weeks)
	written := 0
	for k := range nSeries {
		g := pickGroup()
		sid := int64(k + 1)
		hourOfDay := int64(17 + s.rng.IntN(4))
		dow := s.rng.IntN(7)
		// The current occurrence is in the coming week; nine came before.
		first := (s.now/day+int64(dow))*day + hourOfDay*hour - int64(weeks-1)*7*day
		if first+int64(weeks-1)*7*day <= s.now {
			first += 7 * day
		}
		creator := pick(s.rng, s.members[g])
		title := pick(s.rng, titles)
		spec := fmt.Sprintf("0 %d * * %d", hourOfDay, dow)
		if err := s.w.exec(ser, sid, s.groups[g], creator, spec, spec, title, first+int64(weeks-1)*7*day, first-day, s.now); err != nil {
			return fmt.Errorf("series: %w", err)
		}
		s.counts.Series++
		var id int64
		for w := range weeks {
			ev := event{chat: s.groups[g], creator: creator, title: title, tz: "Europe/Berlin", startsAt: first + int64(w)*7*day, series: sid}
			ev.going, ev.others = people(g)
			if id, _, err = s.write(ew, ev); err != nil {
				return err
			}
			written++
		}
		if err := s.w.exec(setCurrent, id, first+int64(weeks-1)*7*day, sid); err != nil {
			return fmt.Errorf("series: %w", err)
		}
	}
	histMs, aheadMs := float64(History/time.Millisecond), float64(Ahead/time.Millisecond)
	for ; written < total; written++ {
		g := pickGroup()
		var starts int64
		if s.rng.Float64() < 0.7 {
			starts = s.now - int64(s.rng.Float64()*histMs)
		} else {
			starts = s.now + int64(s.rng.Float64()*aheadMs)
		}
		starts = starts / (15 * minute) * (15 * minute)
		ev := event{chat: s.groups[g], creator: pick(s.rng, s.members[g]), title: pick(s.rng, titles), place: pick(s.rng, places),
			tz: pick(s.rng, zones), startsAt: starts, cancelled: s.rng.Float64() < 0.04}
		if s.rng.Float64() < 0.15 {
			ev.capacity = 5 + s.rng.IntN(30)
		}
		ev.going, ev.others = people(g)
		if _, _, err := s.write(ew, ev); err != nil {
			return err
		}
	}
	return nil
}

// outboxAndLedger writes finished outbox rows and the ledger of the calls
// made, spread over History: most rows one call, some retried. Ledger rows
// beyond the outbox rows kept stand for rows already purged.
func (s *seeder) outboxAndLedger() error {
	nOut := scaled(FullOutbox, s.cfg.Scale)
	nLedger := scaled(FullLedger, s.cfg.Scale)
	if nOut == 0 && nLedger == 0 {
		return nil
	}
	ob, err := s.w.prep(outbox.InsertFinishedSQL)
	if err != nil {
		return err
	}
	lg, err := s.w.prep(outbox.InsertLedgerSQL)
	if err != nil {
		return err
	}
	histMs := int64(History / time.Millisecond)
	// Ledger rows are written in time order, interleaved with the outbox
	// rows they belong to: ledger ids follow created_at as in production.
	ledgerLeft := nLedger
	chatOf := func() int64 {
		if s.rng.Float64() < 0.6 {
			return s.groups[s.rng.IntN(len(s.groups))]
		}
		return userID(s.rng.IntN(s.users))
	}
	methods := []string{"sendMessage", "sendMessage", "sendMessage", "editMessageText", "editMessageText", "answerCallbackQuery"}
	// Calls for rows already purged come first (the oldest), then one
	// or more per kept outbox row.
	extra := max(nLedger-nOut*11/10, 0)
	// Up to a minute before Now, so that retries and done times stay in the past.
	step := float64(histMs-minute) / float64(max(extra+nOut, 1))
	t := float64(s.now - histMs)
	for i := range extra {
		t += step
		chat := chatOf()
		if err := s.w.exec(lg, int64(-1-i), chat, pick(s.rng, methods), 1, outbox.ClassOK, 200, 0, "", 0, s.rng.IntN(1_000_000), 40+s.rng.IntN(200), int64(t)); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		s.counts.Ledger++
		ledgerLeft--
	}
	for i := range nOut {
		t += step
		id := int64(i + 1)
		chat := chatOf()
		method := pick(s.rng, methods)
		lane := 0
		switch {
		case method == "editMessageText":
			lane = 1
		case s.rng.Float64() < 0.3:
			lane = 2
		}
		state, attempts := outbox.StateSent, 1
		switch r := s.rng.Float64(); {
		case r < 0.002:
			state = outbox.StateDead
		case r < 0.01:
			state = outbox.StateDropped
		case r < 0.05:
			state = outbox.StateReplaced
			attempts = 0
		case r < 0.15:
			attempts = 2
		}
		created := int64(t)
		done := created + int64(50+s.rng.IntN(2000))
		var sentAt any
		if state == outbox.StateSent {
			sentAt = done
		}
		params := fmt.Sprintf(`{"chat_id":%d,"text":"%s","parse_mode":"HTML"}`, chat, strings.Repeat("x", 40+s.rng.IntN(200)))
		if err := s.w.exec(ob, id, chat, lane, method, params, state, attempts, created, created, sentAt, done, s.rng.IntN(1_000_000)); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		s.counts.Outbox++
		for a := 1; a <= attempts && ledgerLeft > 0; a++ {
			outcome, status := outbox.ClassOK, 200
			if a < attempts {
				outcome, status = outbox.ClassRateLimited, 429
			}
			if err := s.w.exec(lg, id, chat, method, a, outcome, status, 0, "", 0, s.rng.IntN(1_000_000), 40+s.rng.IntN(200), created+int64(a)*10); err != nil {
				return fmt.Errorf("ledger: %w", err)
			}
			s.counts.Ledger++
			ledgerLeft--
		}
	}
	// Fewer retries than guessed: the rest are calls of purged rows too.
	for i := range ledgerLeft {
		at := s.now - histMs + s.rng.Int64N(histMs-minute)
		if err := s.w.exec(lg, int64(-1-extra-i), chatOf(), pick(s.rng, methods), 1, outbox.ClassOK, 200, 0, "", 0, s.rng.IntN(1_000_000), 40+s.rng.IntN(200), at); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		s.counts.Ledger++
	}
	return nil
}

// inbox writes handled updates over the last days.
func (s *seeder) inbox() error {
	n := scaled(FullInbox, s.cfg.Scale)
	if n == 0 {
		return nil
	}
	st, err := s.w.prep(`INSERT INTO inbox (update_id, chat_id, user_id, kind, payload, received_at, done_at) VALUES (?, ?, ?, 'message', ?, ?, ?)`)
	if err != nil {
		return err
	}
	span := int64(7 * day)
	for i := range n {
		at := s.now - span + int64(i)*span/int64(n)
		u := userID(s.rng.IntN(s.users))
		payload := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":%d,"chat":{"id":%d,"type":"private"},"from":{"id":%d,"first_name":"P"},"text":"/events"}}`,
			i+1, i+1, at/1000, u, u)
		if err := s.w.exec(st, int64(i+1), u, u, payload, at, at+5); err != nil {
			return fmt.Errorf("inbox: %w", err)
		}
		s.counts.Inbox++
	}
	return nil
}

// writer runs prepared statements in transactions of batch rows, on one
// connection of the writer pool (BEGIN and COMMIT are plain statements, so
// the prepared statements outlive each transaction).
type writer struct {
	ctx   context.Context
	conn  *sql.Conn
	batch int
	inTx  bool
	n     int
	stmts []*sql.Stmt
}

func (w *writer) prep(query string) (*sql.Stmt, error) {
	st, err := w.conn.PrepareContext(w.ctx, query)
	if err != nil {
		return nil, err
	}
	w.stmts = append(w.stmts, st)
	return st, nil
}

func (w *writer) exec(st *sql.Stmt, args ...any) error {
	if !w.inTx {
		if _, err := w.conn.ExecContext(w.ctx, "BEGIN IMMEDIATE"); err != nil {
			return err
		}
		w.inTx, w.n = true, 0
	}
	if _, err := st.ExecContext(w.ctx, args...); err != nil {
		return err
	}
	w.n++
	if w.n >= w.batch {
		return w.commit()
	}
	return nil
}

func (w *writer) commit() error {
	if !w.inTx {
		return nil
	}
	w.inTx = false
	_, err := w.conn.ExecContext(w.ctx, "COMMIT")
	return err
}

// close rolls back what was not committed and frees the connection.
func (w *writer) close() {
	if w.inTx {
		w.conn.ExecContext(context.WithoutCancel(w.ctx), "ROLLBACK")
		w.inTx = false
	}
	for _, st := range w.stmts {
		st.Close()
	}
	w.conn.Close()
}
