package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
)

// A port in use: exit 2 and one line naming RSVPBOT_HTTP_ADDR and the port.
func TestPlaygroundPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	env := map[string]string{"RSVPBOT_HTTP_ADDR": ln.Addr().String()}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"playground", "--offline"}, lookup, &stdout, &stderr)
	line := strings.TrimSuffix(stderr.String(), "\n")
	if code != 2 || strings.Contains(line, "\n") || !strings.Contains(line, "RSVPBOT_HTTP_ADDR") || !strings.Contains(line, port) {
		t.Fatalf("exit %d, stderr %q: want 2 and one line naming RSVPBOT_HTTP_ADDR and port %s", code, stderr.String(), port)
	}
}

func TestPlaygroundRefusesArguments(t *testing.T) {
	var stdout, stderr bytes.Buffer
	lookup := func(string) (string, bool) { return "", false }
	if code := run(context.Background(), []string{"playground", "extra"}, lookup, &stdout, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), `"extra"`) {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}
