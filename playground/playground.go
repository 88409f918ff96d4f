// Package playground is `rsvpbot playground`: the real bot against the
// built-in Telegram emulator, shown in a browser as a Telegram-like client,
// with no token and nothing leaving the machine.
//
// One process, the supervisor, serves on one address (RSVPBOT_HTTP_ADDR):
// the page (embedded HTML, CSS and JavaScript), its event stream
// (Server-Sent Events), the emulator (package cmd/tgemu/emu: the Bot API
// at /bot<token>/ and its control API at /_emu/), a weather pass-through at
// /_weather/ (Open-Meteo when reachable, else the fake of package
// weather/weathertest) and the playground's own few actions at /api/.
//
// The bot is not run inside the supervisor: it is a child process, the
// same binary re-executed with `run`, configured only through its
// environment like any deployment, pointed at the emulator with a fixed
// playground token (a real TELEGRAM_BOT_TOKEN in the environment is
// ignored), its database in data/playground.db and its ops server on a free
// loopback port that the pipeline panel reads (/metrics, /healthz). So
// "kill -9" is a real SIGKILL, the restart is a real start from the
// database, and nothing inside the bot is replaced or mocked.
//
// Data outlive the supervisor: the database, the people and groups the
// page shows, and the emulator's chats (two JSON files beside it, the chats
// saved two seconds after a change and at the end), so the bot's stored
// message ids keep pointing at its own messages; update ids continue above
// the ones the database holds so the bot's offset never skips a new update.
package playground

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rsvpbot/rsvpbot/cmd/tgemu/emu"
	"github.com/rsvpbot/rsvpbot/store"
)

// Token is the bot token of every playground: the emulator accepts only
// it, and the child bot is given only it.
const Token = "123456:PLAYGROUND"

// BotUsername is the playground bot's username (deep links use it).
const BotUsername = "rsvp_playground_bot"

// Config is what Run needs; the command fills it from flags and the
// environment.
type Config struct {
	// Addr is where the page and the emulator listen (RSVPBOT_HTTP_ADDR).
	Addr string
	// DB is the playground's database (data/playground.db).
	DB string
	// Reset deletes the database and the roster before starting.
	Reset bool
	// Offline forces the fake forecast even if Open-Meteo is reachable.
	Offline bool
	// Exe is the rsvpbot binary the bot runs as (os.Executable), with
	// BotArgs (default ["run"]).
	Exe     string
	BotArgs []string
	// Env is the environment the bot inherits (os.Environ()); every
	// TELEGRAM_, RSVPBOT_, OPEN_METEO_ and LOG_ variable in it is
	// replaced by the playground's own (RSVPBOT_TIMEZONE is kept).
	Env []string
	// Stdout receives the URL and short notices; Logger the supervisor's
	// log (default: discard).
	Stdout io.Writer
	Logger *slog.Logger
	// RestartDelay is the pause before the bot is started again after it
	// died (default 1s).
	RestartDelay time.Duration
	// DemoLead is how far ahead the reminder demo's event starts (default
	// 4 minutes; its one-minute reminder arrives a minute before).
	DemoLead time.Duration
	// Ready, if set, is called with the page's URL once it is served.
	Ready func(url string)
	// OpenMeteoGeocodingURL and OpenMeteoForecastURL are the real
	// service (defaults: Open-Meteo's public endpoints).
	OpenMeteoGeocodingURL, OpenMeteoForecastURL string
}

// UsageError is a wrong setting or a refused start: the command prints it
// on one line and exits 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Playground is one running session.
type Playground struct {
	cfg  Config
	log  *slog.Logger
	url  string // http://host:port of the page and emulator
	base string // the emulator's URL as the bot reaches it

	weather *weatherProxy
	roster  *roster
	child   *child
	panel   *panelState
	events  *broadcaster

	mu  sync.Mutex
	emu *emu.Emulator
	// emuSwapped is closed and replaced when a reset replaces the emulator.
	emuSwapped chan struct{}
	changes    atomic.Int64 // emulator changes seen, for keepChats
	saveMu     sync.Mutex   // a reset and a save of the chats exclude each other
}

// Run serves the playground until ctx ends. Errors a person can fix (the
// port in use, a database from a newer rsvpbot, another playground on the
// same database) are *UsageError.
func Run(ctx context.Context, cfg Config) error { return run(ctx, cfg, nil) }

// run is Run; started, if set, sees the playground before it serves
// (tests reach the emulator and the bot's state through it).
func run(ctx context.Context, cfg Config, started func(*Playground)) error {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if cfg.DB == "" {
		cfg.DB = filepath.Join("data", "playground.db")
	}
	if len(cfg.BotArgs) == 0 {
		cfg.BotArgs = []string{"run"}
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RestartDelay <= 0 {
		cfg.RestartDelay = time.Second
	}
	if cfg.DemoLead <= 0 {
		cfg.DemoLead = 4 * time.Minute
	}
	if cfg.OpenMeteoGeocodingURL == "" {
		cfg.OpenMeteoGeocodingURL = "https://geocoding-api.open-meteo.com/v1/search"
	}
	if cfg.OpenMeteoForecastURL == "" {
		cfg.OpenMeteoForecastURL = "https://api.open-meteo.com/v1/forecast"
	}
	if cfg.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("cannot find the rsvpbot binary to run the bot: %w", err)
		}
		cfg.Exe = exe
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return &UsageError{fmt.Sprintf("RSVPBOT_HTTP_ADDR %q is not host:port (e.g. 127.0.0.1:8080)", cfg.Addr)}
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use") {
			return &UsageError{fmt.Sprintf("RSVPBOT_HTTP_ADDR %s: port %s is already in use (another playground or rsvpbot?); choose another, e.g. RSVPBOT_HTTP_ADDR=%s",
				cfg.Addr, port, net.JoinHostPort(host, "8090"))}
		}
		return &UsageError{fmt.Sprintf("RSVPBOT_HTTP_ADDR %s: %v", cfg.Addr, err)}
	}
	defer ln.Close()
	if cfg.Reset {
		// Not under a playground that is running on the same data.
		lock, err := store.LockDatabase(cfg.DB)
		if err != nil {
			return &UsageError{fmt.Sprintf("--reset: RSVPBOT_DB: %v", err)}
		}
		err = removeData(cfg.DB)
		lock.Release()
		if err != nil {
			return err
		}
	}
	firstUpdate, err := prepareDB(ctx, cfg.DB)
	if err != nil {
		return err
	}
	actual := ln.Addr().(*net.TCPAddr)
	p := &Playground{cfg: cfg, log: cfg.Logger, emuSwapped: make(chan struct{}), events: newBroadcaster()}
	showHost := host
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		showHost = "127.0.0.1"
	}
	p.url = "http://" + net.JoinHostPort(showHost, fmt.Sprint(actual.Port))
	p.base = "http://" + net.JoinHostPort("127.0.0.1", fmt.Sprint(actual.Port))
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		fmt.Fprintf(cfg.Stdout, "warning: RSVPBOT_HTTP_ADDR %s is not loopback: anyone who reaches it can act as any playground user\n", cfg.Addr)
	}

	p.roster, err = loadRoster(rosterPath(cfg.DB))
	if err != nil {
		return err
	}
	p.weather = newWeatherProxy(ctx, cfg)
	defer p.weather.Close()
	p.emu, err = p.newEmulator(firstUpdate)
	if err != nil {
		return err
	}
	defer func() { p.emulator().Close() }()
	p.panel = newPanelState()
	p.child = newChild(p)

	if started != nil {
		started(p)
	}
	srv := &http.Server{Handler: p.routes(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	fmt.Fprintf(cfg.Stdout, "rsvpbot playground — nothing leaves this machine\n")
	fmt.Fprintf(cfg.Stdout, "open %s  (weather: %s; data: %s; stop with Ctrl-C)\n", p.url, p.weather.Source(), cfg.DB)
	if cfg.Ready != nil {
		cfg.Ready(p.url)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); p.keepChats(runCtx) }()
	go func() { defer wg.Done(); p.child.supervise(runCtx) }()
	go func() { defer wg.Done(); p.watchChanges(runCtx) }()
	go func() { defer wg.Done(); p.panel.run(runCtx, p) }()

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-served:
		runErr = err
	case err := <-p.child.fatal:
		runErr = err
	}
	cancel()
	p.emulator().Close() // wakes the bot's long poll so it stops at once
	wg.Wait()
	p.saveChats()
	sctx, scancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer scancel()
	p.events.close()
	_ = srv.Shutdown(sctx)
	return runErr
}

// newEmulator builds the session's emulator: Telegram's limits, the
// playground's token and username, update ids from firstUpdate.
func (p *Playground) newEmulator(firstUpdate int64) (*emu.Emulator, error) {
	ecfg := emu.DefaultConfig()
	ecfg.Token = Token
	ecfg.BotUsername, ecfg.BotName = BotUsername, "RSVP Bot"
	ecfg.FirstUpdateID = firstUpdate
	e, err := emu.New(ecfg)
	if err != nil {
		return nil, err
	}
	if raw, err := os.ReadFile(chatsPath(p.cfg.DB)); err == nil {
		if err := e.Fake.Restore(raw); err != nil {
			p.log.Warn("the playground's chats could not be read; they start empty", "file", chatsPath(p.cfg.DB), "err", err)
		}
	}
	p.roster.seed(e)
	return e, nil
}

// chatsPath is where the emulator's chats are kept between runs.
func chatsPath(db string) string {
	return filepath.Join(filepath.Dir(db), strings.TrimSuffix(filepath.Base(db), filepath.Ext(db))+"-chats.json")
}

// saveChats writes the emulator's chats beside the database, so that the
// next run shows them and the bot's message ids still point at its own
// messages.
func (p *Playground) saveChats() {
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	raw, err := p.emulator().Fake.Snapshot()
	if err == nil {
		path := chatsPath(p.cfg.DB)
		if err = os.WriteFile(path+".tmp", raw, 0o640); err == nil {
			err = os.Rename(path+".tmp", path)
		}
	}
	if err != nil {
		p.log.Warn("cannot save the playground's chats", "err", err)
	}
}

// keepChats saves the chats two seconds after changes, and at the end.
func (p *Playground) keepChats(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	saved := int64(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n := p.changes.Load(); n != saved {
			saved = n
			p.saveChats()
		}
	}
}

// emulator returns the current emulator (a reset replaces it).
func (p *Playground) emulator() *emu.Emulator {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.emu
}

// prepareDB refuses a database another bot holds or a newer rsvpbot wrote,
// migrates it, and returns the first update id the emulator may give.
func prepareDB(ctx context.Context, path string) (int64, error) {
	lock, err := store.LockDatabase(path)
	if err != nil {
		return 0, &UsageError{fmt.Sprintf("RSVPBOT_DB: %v", err)}
	}
	defer lock.Release()
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		if errors.Is(err, store.ErrNewerSchema) {
			return 0, &UsageError{fmt.Sprintf("playground database: %v (or start afresh with --reset)", err)}
		}
		return 0, fmt.Errorf("playground database: %w", err)
	}
	defer db.Close()
	var last int64
	if err := db.R.QueryRowContext(ctx, `SELECT COALESCE(MAX(update_id), 0) FROM inbox`).Scan(&last); err != nil {
		return 0, fmt.Errorf("playground database %s: reading the last update id: %w", path, err)
	}
	return last + 1, nil
}

// removeData deletes the playground's database (with its WAL and shared
// memory files), people and chats; the caller holds the database's lock or
// knows the bot is stopped.
func removeData(db string) error {
	for _, f := range []string{db, db + "-wal", db + "-shm", rosterPath(db), chatsPath(db)} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("reset: %w", err)
		}
	}
	return nil
}

// watchChanges tells the page's event streams whenever the emulator
// changed (a message, an edit, a press), at most every 100 ms.
func (p *Playground) watchChanges(ctx context.Context) {
	for {
		p.mu.Lock()
		e, swapped := p.emu, p.emuSwapped
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-e.Fake.Changed():
		case <-swapped:
		}
		p.changes.Add(1)
		p.events.send("changed", "{}")
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// resetData starts the playground afresh, the bot stopped: its database
// and people deleted, a new emulator (empty chats, update ids from 1).
func (p *Playground) resetData(ctx context.Context) error {
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	if err := removeData(p.cfg.DB); err != nil {
		return err
	}
	p.roster.reset()
	first, err := prepareDB(ctx, p.cfg.DB)
	if err != nil {
		return err
	}
	e, err := p.newEmulator(first)
	if err != nil {
		return err
	}
	p.mu.Lock()
	old := p.emu
	p.emu = e
	close(p.emuSwapped)
	p.emuSwapped = make(chan struct{})
	p.mu.Unlock()
	old.Close()
	p.panel.reset()
	return nil
}
