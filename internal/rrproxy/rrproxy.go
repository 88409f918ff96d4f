// Package rrproxy is a round-robin HTTP reverse proxy in front of several
// bot replicas, as a load balancer would put them behind one webhook URL.
// The replica tests (cmd/rsvpbot) and rsvpload's -replicas mode point
// RSVPBOT_WEBHOOK_URL at it.
//
// Each request goes to the next backend in turn, skipping backends that
// failed within the last Cooldown (a passive health check: a killed
// replica is left alone until it may be back). A request whose backend
// cannot be reached, or dies while answering, is answered 502 Bad Gateway
// and is not retried elsewhere: the sender (Telegram, or the fake) sees a
// failed delivery and delivers the update again, which then goes to
// another backend. Built on net/http/httputil.ReverseProxy.
package rrproxy

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// DefaultCooldown is how long a backend that failed is skipped.
const DefaultCooldown = 500 * time.Millisecond

// Proxy spreads requests over its backends. It is an http.Handler; every
// method is safe for concurrent use.
type Proxy struct {
	backends []*backend
	cooldown time.Duration

	mu   sync.Mutex
	next int
}

type backend struct {
	url *url.URL
	rp  *httputil.ReverseProxy

	mu        sync.Mutex
	downUntil time.Time
	stats     Stats
}

// Stats counts what one backend was sent and how it went.
type Stats struct {
	Requests int         // forwarded to it
	Status   map[int]int // answers by status, 502 for those it never gave
	Failures int         // could not be reached or did not finish answering
}

// Options tune a Proxy.
type Options struct {
	// Cooldown is how long a failed backend is skipped (default
	// DefaultCooldown; negative: never skipped).
	Cooldown time.Duration
	// Timeout bounds one forwarded request until its response headers
	// (default 30 s).
	Timeout time.Duration
}

// New makes a proxy for backends, base URLs such as
// "http://127.0.0.1:8081"; a request's path and query are kept.
func New(backends []string, opts Options) (*Proxy, error) {
	if len(backends) == 0 {
		return nil, fmt.Errorf("rrproxy: no backends")
	}
	if opts.Cooldown == 0 {
		opts.Cooldown = DefaultCooldown
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: opts.Timeout,
	}
	p := &Proxy{cooldown: opts.Cooldown}
	for _, raw := range backends {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("rrproxy: backend %q is not an http(s) URL", raw)
		}
		b := &backend{url: u, stats: Stats{Status: map[int]int{}}}
		b.rp = &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(u)
				pr.SetXForwarded()
			},
			Transport: tr,
			ErrorLog:  log.New(discard{}, "", 0),
			ModifyResponse: func(r *http.Response) error {
				b.mu.Lock()
				b.stats.Status[r.StatusCode]++
				b.mu.Unlock()
				return nil
			},
			ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
				b.mu.Lock()
				b.stats.Failures++
				b.stats.Status[http.StatusBadGateway]++
				if p.cooldown > 0 {
					b.downUntil = time.Now().Add(p.cooldown)
				}
				b.mu.Unlock()
				http.Error(w, "bad gateway: "+u.Host+" did not answer", http.StatusBadGateway)
			},
		}
		p.backends = append(p.backends, b)
	}
	return p, nil
}

// ServeHTTP forwards r to the next live backend.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b := p.pick(time.Now())
	b.mu.Lock()
	b.stats.Requests++
	b.mu.Unlock()
	b.rp.ServeHTTP(w, r)
}

// pick returns the next backend in turn that is not cooling down, or the
// next one at all if every backend is.
func (p *Proxy) pick(now time.Time) *backend {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.backends)
	for i := range n {
		b := p.backends[(p.next+i)%n]
		b.mu.Lock()
		up := !now.Before(b.downUntil)
		b.mu.Unlock()
		if up {
			p.next = (p.next + i + 1) % n
			return b
		}
	}
	b := p.backends[p.next]
	p.next = (p.next + 1) % n
	return b
}

// Stats returns each backend's counts, in the order of New's backends.
func (p *Proxy) Stats() []Stats {
	out := make([]Stats, len(p.backends))
	for i, b := range p.backends {
		b.mu.Lock()
		s := b.stats
		s.Status = make(map[int]int, len(b.stats.Status))
		for k, v := range b.stats.Status {
			s.Status[k] = v
		}
		b.mu.Unlock()
		out[i] = s
	}
	return out
}

// Total sums Stats over the backends.
func (p *Proxy) Total() Stats {
	t := Stats{Status: map[int]int{}}
	for _, s := range p.Stats() {
		t.Requests += s.Requests
		t.Failures += s.Failures
		for k, v := range s.Status {
			t.Status[k] += v
		}
	}
	return t
}

// Server is a Proxy listening on a loopback port.
type Server struct {
	*Proxy
	URL string // http://127.0.0.1:port
	srv *http.Server
}

// Listen serves p on 127.0.0.1 with a random port; Close stops it.
func Listen(p *Proxy) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Proxy: p, URL: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server and its connections.
func (s *Server) Close() error { return s.srv.Close() }

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
