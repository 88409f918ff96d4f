package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/app"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

// replyFake is the in-repo Bot API fake behind a listener that notes when
// each sendMessage request arrives, before the fake reads it, and to which
// chat it goes.
type replyFake struct {
	*bottest.Server
	http    *httptest.Server
	arrived chan arrival
	strays  int // replies to an earlier ask (a duplicate) seen by ask
}

type arrival struct {
	at   time.Time
	chat int64
}

func newReplyFake() *replyFake {
	f := &replyFake{Server: bottest.NewUnstartedServer(), arrived: make(chan arrival, 64)}
	f.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/sendMessage") {
			at := time.Now()
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			probe := r.Clone(r.Context())
			probe.Body = io.NopCloser(bytes.NewReader(body))
			_ = probe.ParseMultipartForm(1 << 20) // go-telegram/bot sends multipart forms
			chat, _ := strconv.ParseInt(probe.FormValue("chat_id"), 10, 64)
			f.arrived <- arrival{at: at, chat: chat}
		}
		f.Server.ServeHTTP(w, r)
	}))
	f.Server.URL = f.http.URL
	return f
}

func (f *replyFake) Close() {
	f.http.Close()
	f.Server.Close()
}

// ask pushes /help as user and returns the time from the update being
// available to getUpdates until the reply's sendMessage reaches the fake.
func (f *replyFake) ask(b *testing.B, user models.User) time.Duration {
	start := time.Now()
	f.PushCommand(bottest.PrivateChat(user), user, "/help")
	deadline := time.After(10 * time.Second)
	for {
		select {
		case a := <-f.arrived:
			if a.chat != user.ID || a.at.Before(start) {
				f.strays++
				continue
			}
			return a.at.Sub(start)
		case <-deadline:
			b.Fatalf("no reply to /help from %d within 10 s", user.ID)
			return 0
		}
	}
}

// BenchmarkReplyPath is the update→reply latency of the whole bot against
// a plain go-telegram/bot handler, in one run, each against its own
// instance of the in-repo fake (bot/bottest, the real getUpdates and
// sendMessage over HTTP on 127.0.0.1).
//
// rsvpbot is the production assembly (app.New, production limits and
// timings, a real SQLite file): getUpdates by the intake → inbox commit →
// dispatcher → /help handler → reply enqueued in the outbox and committed
// with the update marked done → sender woken → sendMessage. The plain bot
// answers /help with the same text from its handler, with no persistence.
//
// Each iteration asks both once, one after the other, then pauses 50 ms,
// so the updates are sequential and paced: at most 20/s, under Telegram's
// 30/s that the sender paces itself by, each chat once every 5 s, under
// 1/s. (A fixed schedule that catches up after a slow ask would send
// bursts above 30/s, and measure the rate limiter's waits, by design up to
// 33 ms, rather than the path.) Latency runs from the update being pushed
// (available to the waiting long poll) to the reply's request arriving at
// the fake.
func BenchmarkReplyPath(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// rsvpbot.
	ours := newReplyFake()
	defer ours.Close()
	a, err := app.New(ctx, app.Config{Token: ours.Token, APIURL: ours.URL,
		DB: filepath.Join(b.TempDir(), "bench.db"), ManualJobs: true})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	runDone := make(chan error, 1)
	go func() { runDone <- a.Run(ctx) }()
	defer func() { cancel(); <-runDone }()

	// Warm up (and learn the reply text the plain bot will send).
	warm := models.User{ID: 1, FirstName: "Warm", LanguageCode: "en"}
	ours.ask(b, warm)
	calls, err := ours.WaitCalls(ctx, "sendMessage", 1)
	if err != nil {
		b.Fatal(err)
	}
	helpText, parseMode := calls[0].Params["text"], calls[0].Params["parse_mode"]
	if !strings.Contains(helpText, "/help") {
		b.Fatalf("rsvpbot's reply to /help is %q", helpText)
	}

	// The plain go-telegram/bot handler.
	plain := newReplyFake()
	defer plain.Close()
	pb, err := tg.New(plain.Token, tg.WithServerURL(plain.URL), tg.WithSkipGetMe(),
		tg.WithDefaultHandler(func(context.Context, *tg.Bot, *models.Update) {}))
	if err != nil {
		b.Fatal(err)
	}
	pb.RegisterHandler(tg.HandlerTypeMessageText, "/help", tg.MatchTypeExact, func(ctx context.Context, t *tg.Bot, u *models.Update) {
		if _, err := t.SendMessage(ctx, &tg.SendMessageParams{ChatID: u.Message.Chat.ID, Text: helpText, ParseMode: models.ParseMode(parseMode)}); err != nil && ctx.Err() == nil {
			b.Error(err)
		}
	})
	plainDone := make(chan struct{})
	go func() { pb.Start(ctx); close(plainDone) }()
	defer func() { cancel(); <-plainDone }()
	plain.ask(b, warm)

	const users, every = 100, 50 * time.Millisecond
	ourLat := make([]time.Duration, 0, b.N)
	plainLat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		time.Sleep(every)
		u := models.User{ID: int64(1000 + i%users), FirstName: fmt.Sprint("U", i%users), LanguageCode: "en"}
		// Alternate which goes first, so neither always runs on a machine
		// just woken by the other.
		if i%2 == 0 {
			ourLat = append(ourLat, ours.ask(b, u))
			plainLat = append(plainLat, plain.ask(b, u))
		} else {
			plainLat = append(plainLat, plain.ask(b, u))
			ourLat = append(ourLat, ours.ask(b, u))
		}
	}
	b.StopTimer()
	o50, o99 := percentiles(ourLat)
	p50, p99 := percentiles(plainLat)
	b.ReportMetric(ms(o50), "rsvpbot-p50-ms")
	b.ReportMetric(ms(o99), "rsvpbot-p99-ms")
	b.ReportMetric(ms(p50), "plain-p50-ms")
	b.ReportMetric(ms(p99), "plain-p99-ms")
	b.ReportMetric(float64(o50)/float64(p50), "p50-ratio")
	b.ReportMetric(float64(o99)/float64(p99), "p99-ratio")
	b.ReportMetric(0, "ns/op") // an iteration is mostly the pacing pause
	if ours.strays+plain.strays > 0 {
		b.Errorf("replies to earlier asks: rsvpbot %d, plain %d", ours.strays, plain.strays)
	}
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*99/100]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
