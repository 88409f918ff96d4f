package playground

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BotState is the bot process as the panel shows it.
type BotState struct {
	// State is starting (launched, not yet answering /healthz), running,
	// down (exited or killed) or stopped (the playground is stopping).
	State    string    `json:"state"`
	PID      int       `json:"pid,omitempty"`
	Since    time.Time `json:"since"`
	Restarts int       `json:"restarts"`
	LastExit string    `json:"last_exit,omitempty"`
	// OpsURL is the bot's ops server (/metrics, /healthz, /readyz).
	OpsURL string `json:"ops_url,omitempty"`
}

// child runs the bot as a child process and restarts it when it dies.
type child struct {
	p     *Playground
	fatal chan error // a start the bot refused: the playground stops
	reset chan chan error

	mu       sync.Mutex
	state    BotState
	cmd      *exec.Cmd
	killedBy string // set by kill, read when the process is reaped
	logs     *logRing
}

func newChild(p *Playground) *child {
	return &child{p: p, fatal: make(chan error, 1), reset: make(chan chan error), logs: newLogRing(200),
		state: BotState{State: "starting", Since: time.Now()}}
}

// State returns the bot's state now.
func (c *child) State() BotState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (c *child) setState(f func(*BotState)) {
	c.mu.Lock()
	f(&c.state)
	st := c.state
	c.mu.Unlock()
	raw, _ := json.Marshal(st)
	c.p.events.send("bot", string(raw))
}

// kill sends SIGKILL to the bot, as `kill -9` would; false if none runs.
func (c *child) kill() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil || c.cmd.Process == nil {
		return false
	}
	c.killedBy = "killed with SIGKILL (kill -9) from the page"
	return c.cmd.Process.Signal(syscall.SIGKILL) == nil
}

// requestReset stops the bot, deletes the playground's data and starts
// afresh; it returns when the new bot is launched.
func (c *child) requestReset(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case c.reset <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// supervise starts the bot and keeps it running until ctx ends.
func (c *child) supervise(ctx context.Context) {
	defer c.setState(func(s *BotState) { s.State, s.PID, s.OpsURL = "stopped", 0, "" })
	everRan := false
	for ctx.Err() == nil {
		opsAddr, err := freeLoopbackAddr()
		if err != nil {
			c.fatal <- fmt.Errorf("no free loopback port for the bot's ops server: %w", err)
			return
		}
		cmd := exec.Command(c.p.cfg.Exe, c.p.cfg.BotArgs...)
		cmd.Env = c.p.botEnv(opsAddr)
		cmd.Stdout, cmd.Stderr = c.logs, c.logs
		started := time.Now()
		if err := cmd.Start(); err != nil {
			c.fatal <- fmt.Errorf("cannot start the bot (%s): %w", c.p.cfg.Exe, err)
			return
		}
		c.mu.Lock()
		c.cmd, c.killedBy = cmd, ""
		c.mu.Unlock()
		c.setState(func(s *BotState) {
			s.State, s.PID, s.Since, s.OpsURL = "starting", cmd.Process.Pid, started, "http://"+opsAddr
		})
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		healthCtx, stopHealth := context.WithCancel(ctx)
		go c.watchHealth(healthCtx, cmd.Process.Pid, "http://"+opsAddr)

		var waitErr error
		var resetDone chan error
		select {
		case waitErr = <-exited:
		case <-ctx.Done():
			waitErr = stop(cmd, exited)
		case resetDone = <-c.reset:
			stop(cmd, exited)
		}
		stopHealth()
		c.mu.Lock()
		c.cmd = nil
		why := c.killedBy
		c.mu.Unlock()
		if ctx.Err() != nil {
			if resetDone != nil {
				resetDone <- ctx.Err()
			}
			return
		}
		if resetDone != nil {
			err := c.p.resetData(ctx)
			resetDone <- err
			if err != nil {
				c.fatal <- err
				return
			}
			c.setState(func(s *BotState) { s.State, s.PID, s.LastExit, s.Restarts = "starting", 0, "reset from the page", 0 })
			everRan = false
			continue
		}
		if why == "" {
			why = describeExit(waitErr)
		}
		ran := c.State().State == "running"
		everRan = everRan || ran
		// A bot that refuses to start (exit 2: a setting, the database's
		// lock) would refuse again: stop rather than loop.
		var ee *exec.ExitError
		if !everRan && errors.As(waitErr, &ee) && ee.ExitCode() == 2 && time.Since(started) < 10*time.Second {
			c.fatal <- &UsageError{"the bot refused to start: " + c.logs.lastMessage()}
			return
		}
		c.setState(func(s *BotState) { s.State, s.PID, s.Since, s.LastExit = "down", 0, time.Now(), why })
		delay := c.p.cfg.RestartDelay
		if !ran && time.Since(started) < 5*time.Second {
			delay = max(delay, 3*time.Second) // crashing while starting: do not spin
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		case resetDone := <-c.reset:
			err := c.p.resetData(ctx)
			resetDone <- err
			if err != nil {
				c.fatal <- err
				return
			}
			everRan = false
			continue
		}
		c.setState(func(s *BotState) { s.Restarts++ })
	}
}

// stop ends the bot gracefully (SIGTERM), killing it after 15 s.
func stop(cmd *exec.Cmd, exited <-chan error) error {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		return err
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		return <-exited
	}
}

// watchHealth marks the bot running once its /healthz answers.
func (c *child) watchHealth(ctx context.Context, pid int, opsURL string) {
	client := &http.Client{Timeout: time.Second}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, opsURL+"/healthz", nil)
		resp, err := client.Do(req)
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			c.setState(func(s *BotState) {
				if s.PID == pid {
					s.State = "running"
				}
			})
			return
		}
	}
}

func describeExit(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by " + ws.Signal().String()
		}
		return "exited with status " + strconv.Itoa(ee.ExitCode())
	}
	if err != nil {
		return err.Error()
	}
	return "exited"
}

// freeLoopbackAddr returns a loopback address with a port free now.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

// botEnv is the bot's whole environment: the inherited one without any
// Telegram, rsvpbot, Open-Meteo or log setting (a real token included),
// then the playground's.
func (p *Playground) botEnv(opsAddr string) []string {
	var env []string
	for _, kv := range p.cfg.Env {
		k, _, _ := strings.Cut(kv, "=")
		if k != "RSVPBOT_TIMEZONE" && (strings.HasPrefix(k, "TELEGRAM_") || strings.HasPrefix(k, "RSVPBOT_") ||
			strings.HasPrefix(k, "OPEN_METEO_") || strings.HasPrefix(k, "LOG_")) {
			continue
		}
		env = append(env, kv)
	}
	var admins []string
	for _, id := range p.roster.admins() {
		admins = append(admins, strconv.FormatInt(id, 10))
	}
	return append(env,
		"TELEGRAM_BOT_TOKEN="+Token,
		"TELEGRAM_API_URL="+p.base,
		"RSVPBOT_DB="+p.cfg.DB,
		"RSVPBOT_HTTP_ADDR="+opsAddr,
		"RSVPBOT_ADMINS="+strings.Join(admins, ","),
		"OPEN_METEO_GEOCODING_URL="+p.base+"/_weather/v1/search",
		"OPEN_METEO_FORECAST_URL="+p.base+"/_weather/v1/forecast",
		"LOG_FORMAT=json",
		"LOG_LEVEL=info",
	)
}

// logRing keeps the bot's last log lines for the panel.
type logRing struct {
	mu      sync.Mutex
	max     int
	lines   []string
	partial []byte
}

func newLogRing(n int) *logRing { return &logRing{max: n} }

// Write implements io.Writer for the child's stdout and stderr.
func (r *logRing) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.partial = append(r.partial, b...)
	for {
		i := bytes.IndexByte(r.partial, '\n')
		if i < 0 {
			break
		}
		r.lines = append(r.lines, string(r.partial[:i]))
		r.partial = r.partial[i+1:]
		if len(r.lines) > r.max {
			r.lines = r.lines[len(r.lines)-r.max:]
		}
	}
	return len(b), nil
}

// Tail returns up to n last lines, each shortened to what a person reads:
// time, level, message and error of a JSON log line.
func (r *logRing) Tail(n int) []string {
	r.mu.Lock()
	lines := r.lines[max(0, len(r.lines)-n):]
	lines = append([]string(nil), lines...)
	r.mu.Unlock()
	for i, l := range lines {
		lines[i] = readableLog(l)
	}
	return lines
}

// lastMessage is the last log line, readable.
func (r *logRing) lastMessage() string {
	t := r.Tail(1)
	if len(t) == 0 {
		return "(no output)"
	}
	return t[0]
}

func readableLog(line string) string {
	var rec map[string]any
	if json.Unmarshal([]byte(line), &rec) != nil {
		return line
	}
	out := ""
	if ts, ok := rec["time"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			out = t.Format("15:04:05") + " "
		}
	}
	out += fmt.Sprint(rec["level"], " ", rec["msg"])
	for _, k := range []string{"component", "err", "count", "addr"} {
		if v, ok := rec[k]; ok {
			out += fmt.Sprintf(" %s=%v", k, v)
		}
	}
	return out
}
