// Command tgemu is a standalone Telegram Bot API emulator on loopback, for
// running the real bot without Telegram: it enforces Telegram's flood
// limits with 429 and retry_after, injects faults on request (5xx answers,
// phantom failures, dropped connections, latency, users who answer 403,
// group migrations) and records every call.
//
// Point a bot at it by hand:
//
//	tgemu -addr 127.0.0.1:8081 &
//	TELEGRAM_API_URL=http://127.0.0.1:8081 TELEGRAM_BOT_TOKEN=123456:TEST-token rsvpbot
//	curl -d '{"from":{"id":42,"first_name":"Ann"},"text":"/start"}' 127.0.0.1:8081/_emu/push
//	curl '127.0.0.1:8081/_emu/messages?chat=42'
//	curl '127.0.0.1:8081/_emu/summary?format=text'
//
// GET /_emu/ lists the control API. On SIGINT or SIGTERM it prints the
// summary (calls by method, 429s given, duplicates, order violations) and
// exits. The emulator itself is package emu, which rsvpload runs in its own
// process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rsvpbot/rsvpbot/cmd/tgemu/emu"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil))
}

// run is main without the process. ready, if not nil, receives the
// listening address (tests listen on port 0).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) int {
	fs := flag.NewFlagSet("tgemu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "loopback address to listen on")
	cfg := emu.DefaultConfig()
	cfg.RegisterFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tgemu [flags]\n\nA Telegram Bot API emulator on loopback; GET /_emu/ lists its control API.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tgemu: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	// Loopback only: the emulator accepts one well-known token and lets
	// anyone push updates, so it must not be reachable from elsewhere.
	host, _, err := net.SplitHostPort(*addr)
	if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		fmt.Fprintf(stderr, "tgemu: -addr %q: listen on a loopback address such as 127.0.0.1:8081\n", *addr)
		return 2
	}
	e, err := emu.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tgemu: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "tgemu: %v\n", err)
		e.Close()
		return 1
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "tgemu listening on %s (control API: %s/_emu/)\n", url, url)
	fmt.Fprintf(stdout, "run the bot with TELEGRAM_API_URL=%s TELEGRAM_BOT_TOKEN=%s\n", url, cfg.Token)
	fmt.Fprintf(stdout, "limits: global %g/s, private %g/s, group %g/min, burst %d\n",
		cfg.Limits.GlobalPerSecond, cfg.Limits.PrivatePerSecond, cfg.Limits.GroupPerMinute, cfg.Limits.Burst)

	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go e.Run(runCtx)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	code := 0
	select {
	case <-ctx.Done():
	case err := <-served:
		fmt.Fprintf(stderr, "tgemu: %v\n", err)
		code = 1
	}
	// Close the fake first: it wakes the bot's long poll, so the server
	// shuts down without waiting for it.
	e.Close()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	fmt.Fprint(stdout, "\n", e.Summary().String())
	return code
}
