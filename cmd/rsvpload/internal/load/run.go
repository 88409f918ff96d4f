package load

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rsvpbot/rsvpbot/cmd/tgemu/emu"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/weather/weathertest"
)

// Run performs one load run and returns its result. An error means the run
// could not be carried out (no binary, the bot never came up); a run that
// breaks an invariant returns a Result with OK false.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	logf := func(format string, args ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "rsvpload: "+format+"\n", args...)
		}
	}
	dir := cfg.WorkDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "rsvpload-*"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	bin := cfg.Bot
	if bin == "" {
		logf("building the bot")
		var err error
		if bin, err = BuildBot(ctx, dir); err != nil {
			return nil, err
		}
	}

	// The emulator and the fake Open-Meteo, both on loopback.
	ecfg := cfg.Emu
	ecfg.Migrations = nil
	e, err := emu.New(ecfg)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	apiURL := "http://" + ln.Addr().String()
	weather := weathertest.NewServer()
	defer weather.Close()
	logf("emulator on %s (summary: %s/_emu/summary?format=text); work directory %s", apiURL, apiURL, dir)

	// The database: a file in the work directory, or a fresh schema in
	// the PostgreSQL database -db names.
	dbPath := filepath.Join(dir, "rsvpbot.db")
	dropSchema := func() error { return nil }
	if cfg.DB != "" {
		var err error
		if dbPath, dropSchema, err = freshSchema(ctx, cfg.DB); err != nil {
			return nil, err
		}
		logf("database: a fresh schema, %s", store.Redact(dbPath))
	}
	rate := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	env := append(cleanEnv(os.Environ()),
		"TELEGRAM_BOT_TOKEN="+ecfg.Token,
		"TELEGRAM_API_URL="+apiURL,
		"RSVPBOT_DB="+dbPath,
		"RSVPBOT_RATE_GLOBAL="+rate(cfg.BotLimits.GlobalPerSecond),
		"RSVPBOT_RATE_CHAT="+rate(cfg.BotLimits.PrivatePerSecond),
		"RSVPBOT_RATE_GROUP="+rate(cfg.BotLimits.GroupPerMinute),
		"RSVPBOT_REMINDERS="+cfg.Reminders,
		"OPEN_METEO_GEOCODING_URL="+weather.GeocodingURL(),
		"OPEN_METEO_FORECAST_URL="+weather.ForecastURL(),
		"LOG_FORMAT=json", "LOG_LEVEL=warn",
	)
	if cfg.BotFloodUser != "" {
		env = append(env, "RSVPBOT_FLOOD_USER="+cfg.BotFloodUser)
	}
	if cfg.BotFloodChat != "" {
		env = append(env, "RSVPBOT_FLOOD_CHAT="+cfg.BotFloodChat)
	}
	if !(cfg.BotFloodUser == "off" && cfg.BotFloodChat == "off") {
		// The bot logs each command its flood budgets leave unanswered at
		// debug level: the checks read them to tell a budget's decision
		// from a lost reply.
		env = append(env, "LOG_LEVEL=debug")
	}
	// Polling by default; with Webhook (or replicas) the emulator POSTs
	// updates to the bot (or the replicas' proxy).
	bots, err := newFleet(cfg, bin, dir, env)
	if err != nil {
		return nil, err
	}
	defer bots.close()
	if err := bots.start(); err != nil {
		return nil, err
	}
	defer bots.stop(5 * time.Second) // only does something on an early return
	if cfg.Replicas > 0 {
		logf("%d replicas behind a round-robin proxy at %s", cfg.Replicas, bots.proxy.URL)
	}
	// The probe doubles as the readiness check: a long poll is recorded
	// only when it returns, so the first answer is the first sign of life.
	tr := newTracker()
	feats, err := probeFeatures(ctx, e.Fake, tr)
	if err != nil {
		return nil, fmt.Errorf("probing the bot's commands: %w (logs: %s)", err, strings.Join(bots.logs(), ", "))
	}
	logf("bot is up; features: %s", feats)

	smp := newSampler(dbPath)
	sctx, stopSampler := context.WithCancel(ctx)
	var bg sync.WaitGroup
	bg.Go(func() { smp.run(sctx) })
	defer func() { stopSampler(); bg.Wait(); smp.close() }()

	d := newDriver(e, tr, cfg, feats, logf)
	res := &Result{Mode: cfg.Mode, Started: time.Now().UTC(), Users: cfg.Users, Groups: cfg.Groups, Rate: cfg.Rate,
		Webhook: cfg.Webhook || cfg.Replicas > 0, Replicas: cfg.Replicas, Backend: backendOf(cfg.DB),
		Features: feats, BotLimit: limitsFrom(cfg.BotLimits.GlobalPerSecond, cfg.BotLimits.PrivatePerSecond, cfg.BotLimits.GroupPerMinute, 0), Emulator: emuSettings(ecfg, d)}
	loadStart := time.Now()
	d.setup(loadStart)
	progress := startProgress(ctx, logf, e, tr, smp, loadStart)

	var spike *spikeRun
	var flood *floodRun
	var kills killer
	switch cfg.Mode {
	case Steady:
		d.run(ctx, cfg.Duration, func(time.Duration) float64 { return cfg.Rate })
	case Flood:
		flood = newFloodRun(d, cfg, loadStart)
		logf("flood: %d flooders × %d commands into %q from +%s over %s; its %d other members ask every %s",
			cfg.Flooders, cfg.FloodCommands, flood.group.chat.Title, floodDelay, cfg.FloodFor, len(flood.members), cfg.FloodNormalEvery)
		d.flood = flood
		d.run(ctx, cfg.Duration, func(time.Duration) float64 { return cfg.Rate })
		d.flood = nil
	case Chaos:
		kctx, stopKills := context.WithCancel(ctx)
		kills.start(kctx, bots, cfg.KillEvery, cfg.Seed, loadStart, logf)
		half := cfg.Duration / 2
		d.run(ctx, half, func(time.Duration) float64 { return cfg.Rate })
		if cfg.Migrate && d.startMigration(time.Now()) {
			res.Emulator.Migrations = 1
		}
		d.run(ctx, cfg.Duration-half, func(time.Duration) float64 { return cfg.Rate })
		stopKills()
		kills.wait()
	case Ramp:
		res.Ramp = runRamp(ctx, cfg, d, tr, e, logf)
	case Spike:
		d.run(ctx, 3*time.Second, func(time.Duration) float64 { return cfg.Rate })
		db, err := smp.open(ctx)
		if err != nil {
			return nil, err
		}
		logf("queueing %d bulk messages at once", cfg.SpikeMessages)
		if spike, err = enqueueSpike(ctx, db, tr, cfg.SpikeMessages, cfg.BotLimits.GlobalPerSecond); err != nil {
			return nil, err
		}
		for time.Since(loadStart) < cfg.Duration && ctx.Err() == nil {
			d.run(ctx, time.Second, func(time.Duration) float64 { return cfg.Rate })
			tr.refresh(e.Fake)
			if spike.drained(tr) {
				break
			}
		}
	}
	d.finish()
	loadEnd := time.Now()
	res.LoadSecs = loadEnd.Sub(loadStart).Seconds()
	res.Kills = kills.times()

	// Drain: the bot must be up to finish its work.
	if err := bots.start(); err != nil {
		return nil, err
	}
	logf("load done after %.0fs; waiting for the bot to drain", res.LoadSecs)
	drainDeadline := time.Now().Add(cfg.DrainTimeout)
	for ctx.Err() == nil && time.Now().Before(drainDeadline) {
		if e.Fake.PendingUpdates() == 0 && smp.drained(ctx, tr.pushCount()) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	end := time.Now()
	res.DrainSecs = end.Sub(loadEnd).Seconds()
	progress()
	res.Bot.ExitCode = bots.stop(30 * time.Second)
	res.Bot.Starts, res.Bot.Kills, res.Bot.Crashes = bots.stats()
	if bots.proxy != nil {
		res.Bot.Webhooks = bots.proxy.Total().Status
	}
	stopSampler()
	bg.Wait()

	db, err := smp.open(context.WithoutCancel(ctx))
	if err != nil {
		return nil, fmt.Errorf("opening the bot's database for the checks: %w", err)
	}
	unanswered := map[int64]bool{}
	for _, path := range bots.logs() {
		drops, err := budgetDrops(path)
		if err != nil {
			return nil, fmt.Errorf("reading the bot's log: %w", err)
		}
		for id := range drops {
			unanswered[id] = true
		}
	}
	a := &analysis{unanswered: unanswered, db: db, fake: e.Fake, tr: tr, samples: smp.all(), loadStart: loadStart, loadEnd: loadEnd, end: end, spike: spike, flood: flood}
	if err := a.check(context.WithoutCancel(ctx), res); err != nil {
		return nil, fmt.Errorf("checking the database: %w", err)
	}
	res.Sending.GlobalLimit = cfg.BotLimits.GlobalPerSecond
	if res.Bot.ExitCode != 0 {
		res.OK = false
		res.Problems = append(res.Problems, fmt.Sprintf("graceful stop: the bot exited with status %d", res.Bot.ExitCode))
	}
	if !res.OK || cfg.Keep {
		res.WorkDir = dir
		if cfg.DB != "" {
			res.KeptSchema = store.Redact(dbPath)
		}
	} else {
		smp.close()
		if err := dropSchema(); err != nil {
			logf("dropping the run's schema: %v", err)
		}
		if cfg.WorkDir == "" {
			os.RemoveAll(dir)
		}
	}
	return res, nil
}

// killer SIGKILLs and restarts the bot every interval (±30 %).
type killer struct {
	wg sync.WaitGroup
	mu sync.Mutex
	at []float64
}

func (k *killer) start(ctx context.Context, bots *fleet, every time.Duration, seed uint64, t0 time.Time, logf func(string, ...any)) {
	rng := rand.New(rand.NewPCG(seed, seed^0xdead))
	k.wg.Go(func() {
		for {
			wait := time.Duration(float64(every) * (0.7 + 0.6*rng.Float64()))
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			// One process at a time: with replicas, one picked at random.
			i := rng.IntN(len(bots.procs))
			bp := bots.procs[i]
			bp.kill()
			k.mu.Lock()
			k.at = append(k.at, time.Since(t0).Seconds())
			n := len(k.at)
			k.mu.Unlock()
			if len(bots.procs) > 1 {
				logf("SIGKILL #%d at +%.1fs: replica %d", n, time.Since(t0).Seconds(), i+1)
			} else {
				logf("SIGKILL #%d at +%.1fs", n, time.Since(t0).Seconds())
			}
			// Sometimes straight back, sometimes after a moment, as a
			// supervisor would.
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
			if err := bp.start(); err != nil {
				logf("restarting the bot: %v", err)
			}
		}
	})
}

func (k *killer) wait() { k.wg.Wait() }

func (k *killer) times() []float64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]float64(nil), k.at...)
}

// startProgress prints a line every 5 s; the returned func stops it.
func startProgress(ctx context.Context, logf func(string, ...any), e *emu.Emulator, tr *tracker, smp *sampler, t0 time.Time) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s := e.Fake.Summary()
			pushed := tr.pushCount()
			var pending [3]int
			backlog := 0
			if all := smp.all(); len(all) > 0 {
				pending, backlog = all[len(all)-1].pending, all[len(all)-1].inboxBacklog
			}
			logf("+%3.0fs pushed %d, inbox backlog %d, outbox pending %v, sent %d, 429s %d",
				time.Since(t0).Seconds(), pushed, backlog, pending, s.MessagesSent, s.TooManyRequests)
		}
	}()
	return func() { cancel(); <-done }
}

func emuSettings(c emu.Config, d *driver) EmuSettings {
	s := EmuSettings{Limits: limitsFrom(c.Limits.GlobalPerSecond, c.Limits.PrivatePerSecond, c.Limits.GroupPerMinute, c.Limits.Burst),
		ErrorRate: c.Faults.ErrorRate, PhantomRate: c.Faults.PhantomErrorRate, DropRate: c.Faults.DropRate,
		LatencyMinMs: float64(c.Faults.MinLatency.Microseconds()) / 1000, LatencyMaxMs: float64(c.Faults.MaxLatency.Microseconds()) / 1000,
		ForbiddenFraction: c.ForbiddenFraction}
	for _, u := range d.users {
		if u.forbidden {
			s.ForbiddenUsers++
		}
	}
	return s
}

func limitsFrom(global, private, group float64, burst int) Limits {
	return Limits{GlobalPerSecond: global, PrivatePerSecond: private, GroupPerMinute: group, Burst: burst}
}

// cleanEnv drops the bot's own settings from the inherited environment: a
// webhook URL, API token or admin list in the operator's shell must not
// change the bot under test (and a real Telegram URL must never be used).
func cleanEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "TELEGRAM_") || strings.HasPrefix(name, "RSVPBOT_") ||
			strings.HasPrefix(name, "OPEN_METEO_") || name == "LOG_FORMAT" || name == "LOG_LEVEL" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// freeAddr finds a loopback port nobody listens on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// backendOf names the database a run uses.
func backendOf(db string) string {
	if db != "" {
		return "postgres"
	}
	return "sqlite"
}
