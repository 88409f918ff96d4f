package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/app"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers"
	"github.com/rsvpbot/rsvpbot/scheduler"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/weather"
)

type stubWeather struct{}

func (stubWeather) Forecast(context.Context, string, weather.Date, string) (weather.Forecast, error) {
	return weather.Forecast{}, errors.New("stub")
}

func (stubWeather) ForecastAt(context.Context, float64, float64, string, weather.Date) (weather.Forecast, error) {
	return weather.Forecast{}, errors.New("stub")
}

// Every seam of Config reaches the part it is for: the clock the handlers
// read, the weather service, the handlers' dependencies (with the one
// series runner), the ops listener, jobs left to RunJob; and the database
// stays locked until Close.
func TestNewSeams(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var series *scheduler.Series
	cfg := app.Config{Token: fake.Token, APIURL: fake.URL, DB: filepath.Join(t.TempDir(), "bot.db"), Version: "seams",
		Now: func() time.Time { return clock }, ManualJobs: true, Listener: ln, Weather: stubWeather{},
		AdjustHandlers: func(d *handlers.Deps) { series = d.Series }, LedgerRetention: -1}
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	if got := a.Handlers().Now(); !got.Equal(clock) {
		t.Errorf("handlers' clock reads %v, want %v", got, clock)
	}
	if !a.Handlers().HasCommand("weather") || !a.Handlers().HasCommand("series") || !a.Handlers().HasCommand("stats") {
		t.Error("weather, series or stats not enabled")
	}
	if series == nil || series != a.Series() {
		t.Errorf("the handlers got series runner %p, the series job runs %p", series, a.Series())
	}
	if a.Addr().String() != ln.Addr().String() {
		t.Errorf("ops server on %v, want the given listener %v", a.Addr(), ln.Addr())
	}
	for _, j := range a.Jobs() {
		if j.Name == "purge-ledger" {
			t.Error("a negative LedgerRetention still purges the ledger")
		}
	}
	if _, err := a.RunJob(context.Background(), "no-such-job"); err == nil {
		t.Error("RunJob ran a job that does not exist")
	}
	if res, err := a.RunJob(context.Background(), "purge-inbox"); err != nil || !strings.HasPrefix(res, "purged 0 ") {
		t.Errorf("purge-inbox: %q, %v", res, err)
	}

	// A second App on the same database is refused while this one holds it.
	second, err := app.New(context.Background(), cfg)
	var locked *app.LockError
	var holder *store.LockedError
	if !errors.As(err, &locked) || !errors.As(err, &holder) {
		if second != nil {
			second.Close()
		}
		t.Fatalf("second App on the same database: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no metrics on the given listener: %v %q", err, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(body, `version="seams"`) {
		t.Errorf("metrics do not carry the configured version:\n%s", body)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Errorf("Run after a stop: %v", err)
	}
	a.Close()
	// Closed: the lock is released and a new App may start.
	b, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	b.Close()
}

// A zero Config has production's policies: the ledger purged after the
// default retention, every job on its schedule.
func TestZeroConfigHasProductionJobs(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	a, err := app.New(context.Background(), app.Config{Token: fake.Token, APIURL: fake.URL, DB: filepath.Join(t.TempDir(), "bot.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	want := []app.JobInfo{{"expire-conversations", "@every 1m"}, {"purge-inbox", "@every 1h"}, {"purge-ledger", "@every 6h"},
		{"card-forecasts", "@every 1m"}, {"reminders", "@every 10s"}, {"series", "@every 1m"}, {"poll-deadlines", "@every 1m"},
		{"purge-reminders", "@every 6h"}}
	got := a.Jobs()
	if len(got) != len(want) {
		t.Fatalf("jobs %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("job %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// syncBuffer is a log sink safe for the App's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Without ManualJobs, Run ticks the jobs on their schedules: the reminders
// job (every 10 s) runs and is logged, and a stop waits for it.
func TestRunTicksTheJobs(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.New(context.Background(), app.Config{Token: fake.Token, APIURL: fake.URL,
		DB: filepath.Join(t.TempDir(), "bot.db"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "job=reminders") {
		if time.Now().After(deadline) {
			cancel()
			<-ran
			t.Fatalf("the reminders job never ran:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Errorf("Run: %v", err)
	}
}
