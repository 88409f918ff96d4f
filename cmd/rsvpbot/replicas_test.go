package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/internal/rrproxy"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/weather/weathertest"
)

// Several replicas of the real binary on one PostgreSQL database (issue
// 19): the harness the replica tests share. Each replica is its own
// process with its own ops address; in webhook mode a round-robin proxy
// (internal/rrproxy) stands where a load balancer would, and the fake Bot
// API posts every update there. Each replica reaches the fake through a
// front of its own, so a test sees which replica made which call (who
// polls, who gets a 409).

// webhookPath is the path of the webhook URL the replicas register.
const webhookPath = "/telegram/webhook"

// apiCall is one Bot API call as a replica's front saw it.
type apiCall struct {
	replica int
	method  string
	at      time.Time // arrival
	status  int
}

// replicaSet is n replicas of the real binary on one database.
type replicaSet struct {
	t     *testing.T
	fake  *bottest.Server
	dsn   string
	procs []*botProcess
	addrs []string // each replica's RSVPBOT_HTTP_ADDR
	proxy *rrproxy.Server

	mu    sync.Mutex
	calls []apiCall
}

// newReplicaSet prepares n replicas on dsn (none started). webhook puts
// them behind a round-robin proxy in webhook mode; else they poll.
func newReplicaSet(t *testing.T, fake *bottest.Server, dsn string, n int, webhook bool, extra ...string) *replicaSet {
	t.Helper()
	rs := &replicaSet{t: t, fake: fake, dsn: dsn}
	for range n {
		rs.addrs = append(rs.addrs, freeLoopback(t))
	}
	if webhook {
		var backends []string
		for _, a := range rs.addrs {
			backends = append(backends, "http://"+a)
		}
		p, err := rrproxy.New(backends, rrproxy.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if rs.proxy, err = rrproxy.Listen(p); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rs.proxy.Close() })
	}
	wx := weathertest.NewServer()
	t.Cleanup(wx.Close)
	for i := range n {
		front := rs.front(i)
		env := []string{
			"TELEGRAM_API_URL=" + front,
			"RSVPBOT_HTTP_ADDR=" + rs.addrs[i],
			"LOG_LEVEL=info",
			"OPEN_METEO_GEOCODING_URL=" + wx.GeocodingURL(),
			"OPEN_METEO_FORECAST_URL=" + wx.ForecastURL(),
		}
		if webhook {
			env = append(env, "RSVPBOT_WEBHOOK_URL="+rs.proxy.URL+webhookPath, "RSVPBOT_WEBHOOK_SECRET=replica-test-secret")
		}
		p := newBotProcess(t, fake, dsn, append(env, extra...)...)
		rs.procs = append(rs.procs, p)
	}
	t.Cleanup(func() {
		for _, p := range rs.procs {
			if p.running() {
				p.kill()
			}
		}
		if t.Failed() {
			for i, p := range rs.procs {
				t.Logf("replica %d's log (tail):\n%s", i, tail(p.log(), 4000))
			}
		}
	})
	return rs
}

// front serves the fake Bot API to replica i on an address of its own,
// recording each call with its answer's status.
func (rs *replicaSet) front(i int) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		rs.t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := apiCall{replica: i, at: time.Now()}
		if _, m, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/bot"), "/"); ok {
			c.method = m
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		rs.fake.ServeHTTP(sw, r)
		c.status = sw.status
		rs.mu.Lock()
		rs.calls = append(rs.calls, c)
		rs.mu.Unlock()
	})}
	go srv.Serve(ln)
	rs.t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// Hijack lets the fake drop a connection, as it does for injected drops.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.status = 0
	return w.ResponseWriter.(http.Hijacker).Hijack()
}

// callsOf returns the recorded calls of method (all replicas).
func (rs *replicaSet) callsOf(method string) []apiCall {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var out []apiCall
	for _, c := range rs.calls {
		if c.method == method {
			out = append(out, c)
		}
	}
	return out
}

func (rs *replicaSet) startAll() {
	for _, p := range rs.procs {
		p.start()
	}
}

// stopAll stops every running replica with SIGTERM; each must exit 0.
func (rs *replicaSet) stopAll() {
	rs.t.Helper()
	for i, p := range rs.procs {
		if !p.running() {
			continue
		}
		if code := p.stop(); code != 0 {
			rs.t.Errorf("replica %d: graceful stop exited %d\n%s", i, code, tail(p.log(), 4000))
		}
	}
}

// readyz asks replica i's /readyz.
func (rs *replicaSet) readyz(i int) (int, string) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + rs.addrs[i] + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var leaderRE = regexp.MustCompile(`leader: (\S+) \(term (\d+)`)

// leader returns the replica holding the leader lease and its term, as a
// running replica's /readyz says (-1 if none is known).
func (rs *replicaSet) leader() (int, int64) {
	host, _ := os.Hostname()
	if host == "" {
		host = "replica"
	}
	for i, p := range rs.procs {
		if !p.running() {
			continue
		}
		_, body := rs.readyz(i)
		m := leaderRE.FindStringSubmatch(body)
		if m == nil {
			continue
		}
		term, _ := strconv.ParseInt(m[2], 10, 64)
		for j, q := range rs.procs {
			if q.running() && m[1] == fmt.Sprintf("%s-%d", host, q.cmd.Process.Pid) {
				return j, term
			}
		}
	}
	return -1, 0
}

// openDSN opens the replicas' database for the checks.
func openDSN(t *testing.T, dsn string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.OpenNoMigrate(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// running reports whether the process was started and has not been
// waited for (killed or stopped).
func (p *botProcess) running() bool { return p.cmd != nil && p.cmd.ProcessState == nil }

func freeLoopback(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
