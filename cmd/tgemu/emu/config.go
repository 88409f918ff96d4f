// Package emu turns bot/bottest, the in-repo fake of the Telegram Bot API,
// into a standalone emulator: configuration from command-line flags, users
// who answer 403 whatever they do, group migrations on a timer, and a small
// control API under /_emu/ for pushing updates and reading what the bot did.
//
// It exists as a package (not inside the tgemu binary) because two programs
// need exactly the same emulator: tgemu, which an operator points a real bot
// at by hand, and rsvpload, which runs the emulator in its own process so
// that it can read every recorded call directly while it loads the bot. Both
// therefore enforce the same limits and inject the same faults from the
// same flags.
package emu

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

// Config is everything the emulator can be told at start. The zero value
// is a fake without limits or faults; DefaultConfig is Telegram's limits.
type Config struct {
	// Token is the only bot token accepted (its numeric prefix is the bot's id).
	Token string
	// Seed seeds fault draws and latency, so that a run can be repeated.
	Seed uint64
	// Limits are the flood limits answered with 429 and retry_after.
	Limits bottest.Limits
	// Faults are random 5xx answers, phantom failures, dropped connections
	// and latency.
	Faults bottest.Faults
	// Forbidden lists users whose private chats answer 403 "bot was
	// blocked by the user" to every sending call, even after they write to
	// the bot: users who blocked it without the bot noticing yet.
	Forbidden []int64
	// ForbiddenFraction makes that fraction of all user ids forbidden too,
	// chosen by a hash of the id and Seed (so the same users every run).
	ForbiddenFraction float64
	// Migrations upgrade groups to supergroups some time after start.
	Migrations []Migration
	// BotUsername and BotName are the username and first name getMe
	// reports ("" keeps bottest's).
	BotUsername, BotName string
	// FirstUpdateID is the first update_id given (0 or 1: from 1). A
	// session that outlives the emulator continues above the ids the bot
	// stored, or the bot's offset would confirm new updates unread.
	FirstUpdateID int64
}

// Migration upgrades group From to supergroup To, After the emulator starts.
type Migration struct {
	From, To int64
	After    time.Duration
}

// MarshalJSON writes the delay as text ("30s").
func (m Migration) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		From  int64  `json:"from"`
		To    int64  `json:"to"`
		After string `json:"after"`
	}{m.From, m.To, m.After.String()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (m *Migration) UnmarshalJSON(b []byte) error {
	var v struct {
		From  int64  `json:"from"`
		To    int64  `json:"to"`
		After string `json:"after"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	after, err := time.ParseDuration(v.After)
	*m = Migration{From: v.From, To: v.To, After: after}
	return err
}

func (m Migration) String() string {
	s := strconv.FormatInt(m.From, 10) + ":" + strconv.FormatInt(m.To, 10)
	if m.After > 0 {
		s += "@" + m.After.String()
	}
	return s
}

// Telegram's published limits (see the package doc of bottest).
const (
	TelegramGlobalPerSecond  = 30
	TelegramPrivatePerSecond = 1
	TelegramGroupPerMinute   = 20
	// DefaultBurst is how many calls above each bucket's quota are
	// tolerated. Telegram tolerates short bursts; a little slack also keeps
	// network jitter between a correctly paced bot and the emulator (two
	// calls sent one second apart arriving 990 ms apart) from producing
	// 429s that Telegram would not give.
	DefaultBurst = 3
)

// DefaultConfig is the emulator with Telegram's limits and no faults.
func DefaultConfig() Config {
	return Config{
		Token: bottest.DefaultToken,
		Seed:  1,
		Limits: bottest.Limits{GlobalPerSecond: TelegramGlobalPerSecond, PrivatePerSecond: TelegramPrivatePerSecond,
			GroupPerMinute: TelegramGroupPerMinute, Burst: DefaultBurst},
	}
}

// RegisterFlags defines the emulator's flags on fs, with c's current values
// as defaults; parsing fs fills c.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Token, "token", c.Token, "the bot token accepted (give the bot the same TELEGRAM_BOT_TOKEN)")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of fault draws and latency, for repeatable runs")
	fs.Float64Var(&c.Limits.GlobalPerSecond, "global", c.Limits.GlobalPerSecond, "messages per second over all chats before 429 (0 = unlimited)")
	fs.Float64Var(&c.Limits.PrivatePerSecond, "private", c.Limits.PrivatePerSecond, "messages per second to one private chat before 429 (0 = unlimited)")
	fs.Float64Var(&c.Limits.GroupPerMinute, "group", c.Limits.GroupPerMinute, "messages per minute to one group before 429 (0 = unlimited)")
	fs.IntVar(&c.Limits.Burst, "burst", c.Limits.Burst, "calls tolerated above each limit's quota")
	fs.Float64Var(&c.Faults.ErrorRate, "error-rate", c.Faults.ErrorRate, "fraction of sending calls answered 500/502 without effect")
	fs.Float64Var(&c.Faults.PhantomErrorRate, "phantom-rate", c.Faults.PhantomErrorRate, "fraction of sending calls that take effect but are answered 500 (a retry duplicates)")
	fs.Float64Var(&c.Faults.DropRate, "drop-rate", c.Faults.DropRate, "fraction of sending calls whose connection is closed without answer or effect")
	fs.DurationVar(&c.Faults.MinLatency, "latency-min", c.Faults.MinLatency, "least added latency of every call but getUpdates")
	fs.DurationVar(&c.Faults.MaxLatency, "latency-max", c.Faults.MaxLatency, "most added latency (uniform between min and max)")
	fs.Float64Var(&c.Faults.SlowRate, "slow-rate", c.Faults.SlowRate, "fraction of calls also delayed by -slow-latency (a long tail)")
	fs.DurationVar(&c.Faults.SlowLatency, "slow-latency", c.Faults.SlowLatency, "extra latency of the -slow-rate calls")
	fs.Var((*idList)(&c.Forbidden), "forbid", "comma-separated user ids whose private chats answer 403 (blocked) to every send")
	fs.Float64Var(&c.ForbiddenFraction, "forbid-fraction", c.ForbiddenFraction, "fraction of user ids (hashed with -seed) whose private chats answer 403")
	fs.StringVar(&c.BotUsername, "username", c.BotUsername, "the bot's username, as getMe reports it")
	fs.StringVar(&c.BotName, "name", c.BotName, "the bot's name, as getMe reports it")
	fs.Int64Var(&c.FirstUpdateID, "first-update-id", c.FirstUpdateID, "the first update_id given (above the ids a bot's database holds from an earlier session)")
	fs.Var((*migrationList)(&c.Migrations), "migrate", "group migrations FROM:TO[@DELAY], comma-separated (e.g. -4001:-1000000004001@30s)")
}

// Validate reports a configuration that cannot work, naming the flag.
func (c Config) Validate() error {
	var errs []error
	bad := func(flagName, format string, args ...any) {
		errs = append(errs, fmt.Errorf("-%s: %s", flagName, fmt.Sprintf(format, args...)))
	}
	if !strings.Contains(c.Token, ":") {
		bad("token", "%q does not look like a bot token (digits, a colon, then letters)", c.Token)
	} else if _, err := strconv.ParseInt(strings.SplitN(c.Token, ":", 2)[0], 10, 64); err != nil {
		bad("token", "%q must start with the bot's numeric id", c.Token)
	}
	for name, v := range map[string]float64{"global": c.Limits.GlobalPerSecond, "private": c.Limits.PrivatePerSecond,
		"group": c.Limits.GroupPerMinute} {
		if v < 0 || math.IsNaN(v) {
			bad(name, "must be 0 (unlimited) or positive")
		}
	}
	if c.Limits.Burst < 0 {
		bad("burst", "must not be negative")
	}
	rates := map[string]float64{"error-rate": c.Faults.ErrorRate, "phantom-rate": c.Faults.PhantomErrorRate,
		"drop-rate": c.Faults.DropRate, "forbid-fraction": c.ForbiddenFraction, "slow-rate": c.Faults.SlowRate}
	for name, v := range rates {
		if v < 0 || v > 1 || math.IsNaN(v) {
			bad(name, "must be a fraction from 0 to 1")
		}
	}
	if sum := c.Faults.ErrorRate + c.Faults.PhantomErrorRate + c.Faults.DropRate; sum > 1 {
		bad("error-rate", "error, phantom and drop rates add up to %.2f; one draw decides among them, so keep the sum at most 1", sum)
	}
	if c.Faults.MinLatency < 0 || c.Faults.MaxLatency < 0 {
		bad("latency-min", "latencies must not be negative")
	}
	if c.Faults.SlowLatency < 0 || (c.Faults.SlowRate > 0 && c.Faults.SlowLatency == 0) {
		bad("slow-latency", "must be a positive duration when -slow-rate is set (e.g. 2s)")
	}
	if c.FirstUpdateID < 0 {
		bad("first-update-id", "must not be negative")
	}
	if c.BotUsername != "" && (len(c.BotUsername) < 5 || strings.Trim(strings.ToLower(c.BotUsername), "abcdefghijklmnopqrstuvwxyz0123456789_") != "") {
		bad("username", "%q: a bot username has 5 or more of a-z, 0-9 and _", c.BotUsername)
	}
	for _, m := range c.Migrations {
		if m.From >= 0 || m.To > -1_000_000_000_000 {
			bad("migrate", "%s: FROM must be a group id (negative) and TO a supergroup id (-100…, at most -1000000000000)", m)
		}
	}
	return errors.Join(errs...)
}

// IsForbidden reports whether user id answers 403 under c (listed, or in
// ForbiddenFraction). Callers that simulate users use it to know in advance
// which replies will be refused.
func (c Config) IsForbidden(id int64) bool {
	for _, f := range c.Forbidden {
		if f == id {
			return true
		}
	}
	if c.ForbiddenFraction <= 0 || id <= 0 {
		return false
	}
	h := fnv.New64a()
	var b [16]byte
	for i := range 8 {
		b[i] = byte(uint64(id) >> (8 * i))
		b[8+i] = byte(c.Seed >> (8 * i))
	}
	h.Write(b[:])
	return float64(h.Sum64())/float64(math.MaxUint64) < c.ForbiddenFraction
}

// idList is a flag.Value of comma-separated user ids.
type idList []int64

func (l *idList) String() string {
	if l == nil {
		return ""
	}
	parts := make([]string, len(*l))
	for i, id := range *l {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

func (l *idList) Set(s string) error {
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("%q is not a user id (a positive number)", f)
		}
		*l = append(*l, id)
	}
	return nil
}

// migrationList is a flag.Value of FROM:TO[@DELAY] items.
type migrationList []Migration

func (l *migrationList) String() string {
	if l == nil {
		return ""
	}
	parts := make([]string, len(*l))
	for i, m := range *l {
		parts[i] = m.String()
	}
	return strings.Join(parts, ",")
}

func (l *migrationList) Set(s string) error {
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		m, err := ParseMigration(f)
		if err != nil {
			return err
		}
		*l = append(*l, m)
	}
	return nil
}

// ParseMigration reads FROM:TO or FROM:TO@DELAY (a Go duration).
func ParseMigration(s string) (Migration, error) {
	var m Migration
	pair, delay, hasDelay := strings.Cut(s, "@")
	from, to, ok := strings.Cut(pair, ":")
	if !ok {
		return m, fmt.Errorf("%q: want FROM:TO[@DELAY], e.g. -4001:-1000000004001@30s", s)
	}
	var err error
	if m.From, err = strconv.ParseInt(strings.TrimSpace(from), 10, 64); err != nil {
		return m, fmt.Errorf("%q: FROM %q is not a chat id", s, from)
	}
	if m.To, err = strconv.ParseInt(strings.TrimSpace(to), 10, 64); err != nil {
		return m, fmt.Errorf("%q: TO %q is not a chat id", s, to)
	}
	if hasDelay {
		if m.After, err = time.ParseDuration(strings.TrimSpace(delay)); err != nil || m.After < 0 {
			return m, fmt.Errorf("%q: DELAY %q is not a duration like 30s", s, delay)
		}
	}
	return m, nil
}
