package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The binary serves on the address given, refuses non-loopback ones, and
// prints the summary when stopped.
func TestRunServesAndPrintsSummary(t *testing.T) {
	var stderr strings.Builder
	if code := run(context.Background(), []string{"-addr", "0.0.0.0:0"}, io.Discard, &stderr, nil); code != 2 ||
		!strings.Contains(stderr.String(), "loopback") {
		t.Fatalf("non-loopback address: exit %d, %q", code, stderr.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	var stdout strings.Builder
	done := make(chan int)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-global", "5"}, &stdout, io.Discard, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("not listening")
	}
	resp, err := http.Post("http://"+addr+"/bot123456:TEST-token/sendMessage", "application/x-www-form-urlencoded",
		strings.NewReader("chat_id=1&text=hi"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	if out := stdout.String(); !strings.Contains(out, "calls: 1 (sendMessage=1)") || !strings.Contains(out, "global 5/s") {
		t.Fatalf("output:\n%s", out)
	}
}
