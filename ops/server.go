package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Config tunes NewServer.
type Config struct {
	// Health answers /readyz; nil makes /readyz equal to /healthz.
	Health *Health
	// Metrics serves /metrics and instruments the API; nil leaves /metrics out.
	Metrics *Metrics
	// API is the message API, served under /v1/ when non-nil.
	API *API
	// Logger (default: discard).
	Logger *slog.Logger
}

// Server is the ops HTTP server's handler: /healthz, /readyz, /metrics, the
// message API, and whatever else is mounted with Handle (the webhook).
type Server struct {
	cfg Config
	mux *http.ServeMux
}

// NewServer builds the routes.
func NewServer(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	s.mux.HandleFunc("GET /readyz", s.ready)
	if cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", cfg.Metrics.Handler())
	}
	if cfg.API != nil {
		s.mux.Handle("/v1/", cfg.API)
	}
	return s
}

// Handle mounts another handler (the Telegram webhook) on the same server.
// A pattern that clashes with the ops routes is an error, not a panic.
func (s *Server) Handle(pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("ops: cannot serve %s: %v", pattern, p)
		}
	}()
	s.mux.Handle(pattern, h)
	return nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// ready answers 200 "ready" or 503, with one line per check either way.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.cfg.Health == nil {
		fmt.Fprintln(w, "ready")
		return
	}
	ok, checks := s.cfg.Health.Ready(r.Context())
	var b strings.Builder
	if ok {
		b.WriteString("ready\n")
	} else {
		b.WriteString("not ready\n")
	}
	for _, c := range checks {
		state := "ok"
		switch {
		case !c.OK:
			state = "FAIL"
		case c.Warn:
			state = "WARN"
		}
		fmt.Fprintf(&b, "%s: %s: %s\n", c.Name, state, c.Detail)
	}
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	fmt.Fprint(w, b.String())
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully
// (requests in flight get up to 5 s). It returns nil after a shutdown and
// the listener's error otherwise.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second, // webhook bodies may be large
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-done
		return nil
	}
	return err
}
