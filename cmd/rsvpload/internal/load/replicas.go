package load

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rsvpbot/rsvpbot/internal/rrproxy"
	"github.com/rsvpbot/rsvpbot/store"
)

// Replicas (-replicas N): N bot processes on one database, in webhook
// mode behind a round-robin proxy (internal/rrproxy) that stands where a
// load balancer would: the emulator posts every update to the proxy,
// which spreads them over the replicas and answers 502 for one that is
// down, so the emulator delivers it again. Several replicas need
// PostgreSQL (-db); one may run on SQLite too, for comparison. In chaos
// mode each SIGKILL hits one replica, picked at random.

// fleet is the bot processes of a run: one, or the replicas.
type fleet struct {
	procs []*botProc
	proxy *rrproxy.Server // nil without replicas
}

// webhookPath is the path of the webhook URL the bots register.
const webhookPath = "/telegram/webhook"

// newFleet prepares the bot processes (none started): with replicas,
// each gets its own ops address and log, and the webhook URL is the
// proxy's.
func newFleet(cfg Config, bin, dir string, env []string) (*fleet, error) {
	if cfg.Replicas == 0 {
		httpEnv := []string{"RSVPBOT_HTTP_ADDR="}
		if cfg.Webhook {
			// The emulator POSTs updates to the bot's ops server, whose port
			// is chosen here (free a moment ago).
			addr, err := freeAddr()
			if err != nil {
				return nil, err
			}
			httpEnv = []string{"RSVPBOT_HTTP_ADDR=" + addr, "RSVPBOT_WEBHOOK_URL=http://" + addr + webhookPath,
				"RSVPBOT_WEBHOOK_SECRET=rsvpload-webhook-secret"}
		}
		return &fleet{procs: []*botProc{newBotProc(bin, filepath.Join(dir, "bot.log"), append(env, httpEnv...))}}, nil
	}
	addrs := make([]string, cfg.Replicas)
	backends := make([]string, cfg.Replicas)
	for i := range addrs {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		addrs[i], backends[i] = addr, "http://"+addr
	}
	p, err := rrproxy.New(backends, rrproxy.Options{})
	if err != nil {
		return nil, err
	}
	f := &fleet{}
	if f.proxy, err = rrproxy.Listen(p); err != nil {
		return nil, err
	}
	for i, addr := range addrs {
		e := append(append([]string(nil), env...), "RSVPBOT_HTTP_ADDR="+addr, "RSVPBOT_WEBHOOK_URL="+f.proxy.URL+webhookPath,
			"RSVPBOT_WEBHOOK_SECRET=rsvpload-webhook-secret")
		f.procs = append(f.procs, newBotProc(bin, filepath.Join(dir, fmt.Sprintf("bot-%d.log", i+1)), e))
	}
	return f, nil
}

// start starts every process that is not running.
func (f *fleet) start() error {
	for _, p := range f.procs {
		if !p.running() {
			if err := p.start(); err != nil {
				return err
			}
		}
	}
	return nil
}

// stop stops every process gracefully and returns the first non-zero
// exit code (0 if all exited 0).
func (f *fleet) stop(timeout time.Duration) int {
	code := 0
	for _, p := range f.procs {
		if c := p.stop(timeout); c != 0 && code == 0 {
			code = c
		}
	}
	return code
}

// close stops the proxy.
func (f *fleet) close() {
	if f.proxy != nil {
		f.proxy.Close()
	}
}

func (f *fleet) stats() (starts, kills int, crashes []string) {
	for i, p := range f.procs {
		s, k, c := p.stats()
		starts += s
		kills += k
		for _, line := range c {
			if len(f.procs) > 1 {
				line = fmt.Sprintf("replica %d: %s", i+1, line)
			}
			crashes = append(crashes, line)
		}
	}
	return starts, kills, crashes
}

// logs are the processes' log files.
func (f *fleet) logs() []string {
	var out []string
	for _, p := range f.procs {
		out = append(out, p.logPath)
	}
	return out
}

// freshSchema creates an empty schema in the PostgreSQL database at base
// for one run and returns the URL the bots use (base with search_path
// set to it) and a function that drops it.
func freshSchema(ctx context.Context, base string) (dsn string, drop func() error, err error) {
	u, err := url.Parse(base)
	if err != nil || !store.IsPostgresURL(base) {
		return "", nil, fmt.Errorf("-db %s: not a postgres:// URL", store.Redact(base))
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("-db %s: %s", store.Redact(base), scrubURL(err.Error(), base))
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("rsvpload_%s_%d", time.Now().UTC().Format("20060102t150405"), os.Getpid())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("-db %s: creating schema %s: %s", store.Redact(base), schema, scrubURL(err.Error(), base))
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		return err
	}
	return u.String(), drop, nil
}

// scrubURL keeps a URL's password out of a message.
func scrubURL(msg, dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		if p, ok := u.User.Password(); ok && p != "" {
			return strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return msg
}
