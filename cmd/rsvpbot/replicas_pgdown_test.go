package main

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/store/storetest"
)

// tcpCut forwards TCP connections to a server (PostgreSQL) and can cut
// them: while cut, open connections are closed and new ones are closed as
// soon as they are accepted, which is what a database restart or a
// network partition looks like to its clients. The machine's shared
// PostgreSQL itself is never touched.
type tcpCut struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
}

func newTCPCut(t *testing.T, target string) *tcpCut {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &tcpCut{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go c.serve()
	t.Cleanup(func() { ln.Close(); c.cut() })
	return c
}

func (c *tcpCut) addr() string { return c.ln.Addr().String() }

func (c *tcpCut) serve() {
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		if !c.track(conn) {
			conn.Close()
			continue
		}
		go c.pipe(conn)
	}
}

// track registers conn; false while cut.
func (c *tcpCut) track(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return false
	}
	c.conns[conn] = struct{}{}
	return true
}

func (c *tcpCut) forget(conns ...net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range conns {
		delete(c.conns, conn)
		conn.Close()
	}
}

func (c *tcpCut) pipe(conn net.Conn) {
	up, err := net.DialTimeout("tcp", c.target, 5*time.Second)
	if err != nil || !c.track(up) {
		if up != nil {
			up.Close()
		}
		c.forget(conn)
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, conn); done <- struct{}{} }()
	go func() { io.Copy(conn, up); done <- struct{}{} }()
	<-done
	c.forget(conn, up)
}

// cut closes every connection and refuses new ones until restore.
func (c *tcpCut) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = true
	for conn := range c.conns {
		conn.Close()
		delete(c.conns, conn)
	}
}

func (c *tcpCut) restore() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = false
}

// TestReplicasSurvivePostgresOutage runs two webhook replicas on
// PostgreSQL reached through a TCP forwarder, and cuts every connection
// to the database for 20 s while users keep writing. Meanwhile webhook
// calls are answered 5xx (so Telegram delivers them again) and /readyz
// answers 503 naming the database; afterwards the replicas resume on
// their own: /readyz 200, nothing lost or handled twice, each chat's
// order kept.
func TestReplicasSurvivePostgresOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary for a minute")
	}
	direct := storetest.Postgres(t, "pgdown")
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	cut := newTCPCut(t, u.Host)
	u.Host = cut.addr()
	dsn := u.String()

	fake := bottest.NewServer()
	defer fake.Close()
	rs := newReplicaSet(t, fake, dsn, 2, true)
	rs.startAll()
	db := openDSN(t, direct)

	load := newReplicaLoad(fake, "d", 4, 1, 8500)
	load.postCards(t)
	streamed, stopLoad := load.streamInBackground(32, time.Second)
	defer stopLoad()

	time.Sleep(3 * time.Second)
	fivexx := func() int {
		n := 0
		for code, c := range rs.proxy.Total().Status {
			if code >= 500 {
				n += c
			}
		}
		return n
	}
	before := fivexx()
	const outage = 20 * time.Second
	start := time.Now()
	cut.cut()
	t.Logf("PostgreSQL cut off for %s", outage)
	dbLine := regexp.MustCompile(`(?m)^database: FAIL: .+$`)
	var unready string
	for time.Since(start) < outage {
		if unready == "" {
			if code, body := rs.readyz(0); code == 503 && dbLine.MatchString(body) {
				unready = dbLine.FindString(body)
				t.Logf("%.1fs into the outage, /readyz 503: %s", time.Since(start).Seconds(), unready)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	during := fivexx() - before
	cut.restore()
	restored := time.Now()
	t.Logf("PostgreSQL back; webhook calls answered 5xx meanwhile: %d", during)
	if unready == "" {
		t.Errorf("/readyz never answered 503 naming the database during the outage")
	}
	if during == 0 {
		t.Errorf("no webhook call was answered 5xx during the outage")
	}
	// Ready again (so still running: nothing restarts them here).
	for i := range rs.procs {
		waitUntil(t, 60*time.Second, fmt.Sprintf("replica %d ready again", i), func() bool {
			code, _ := rs.readyz(i)
			return code == 200
		})
	}
	t.Logf("every replica ready %s after PostgreSQL came back", time.Since(restored).Round(100*time.Millisecond))

	<-streamed
	load.drained(t, db, 90*time.Second)
	rs.stopAll()
	f := load.check(t, db)
	t.Logf("%d updates (%d replies, %d presses answered); webhook calls by status %v; replies delivered twice %d (ambiguous attempts %d)",
		load.total(), f.replies, f.presses, rs.proxy.Total().Status, f.dups, f.ambiguous)
}
