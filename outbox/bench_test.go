package outbox

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/store"
)

// BenchmarkEnqueue is the cost Enqueue adds to a handler's transaction:
// one message per transaction (as a command reply) and 100 per
// transaction (as a scheduler's announcement), per message.
func BenchmarkEnqueue(b *testing.B) {
	for _, perTx := range []int{1, 100} {
		b.Run(fmt.Sprintf("perTx=%d", perTx), func(b *testing.B) {
			db := openDB(b)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += perTx {
				err := db.Tx(ctx, func(tx *sql.Tx) error {
					for k := 0; k < perTx && i+k < b.N; k++ {
						chat := int64((i+k)%5000 + 1)
						if _, err := Enqueue(ctx, tx, textMsg(chat, Bulk, "reminder: board games tonight at 19:00")); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEnqueueCoalesce is an edit that replaces a pending one.
func BenchmarkEnqueueCoalesce(b *testing.B) {
	db := openDB(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := Enqueue(ctx, tx, Message{ChatID: -7, Method: "editMessageText", Lane: Edit,
				CoalesceKey: fmt.Sprintf("edit:-7:%d", i%10),
				Params:      map[string]any{"chat_id": -7, "message_id": i % 10, "text": fmt.Sprint("RSVP: ", i)}})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSenderUnlimited is the sender's own overhead: limits off, the
// fake API on loopback with no latency, 5,000 messages to 1,000 chats per
// iteration. msg/s is the figure.
func BenchmarkSenderUnlimited(b *testing.B) {
	const n = 5000
	fake := newFake(b)
	client := newClient(b, fake)
	var total time.Duration
	for range b.N {
		b.StopTimer()
		db := openDB(b)
		enqueue(b, db, burstMessages(burstChats(1000), n/1000, Bulk)...)
		s := NewSender(db, client, Config{Logger: slog.New(slog.DiscardHandler), Workers: 32, Limits: &Limits{}})
		b.StartTimer()
		start := time.Now()
		stop := startSender(b, s)
		waitFor(b, 5*time.Minute, "all sent", func() bool { return allFinal(b, db) })
		total += time.Since(start)
		b.StopTimer()
		stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "msg/s")
}

// BenchmarkGlobalLimitAccuracy is the 3,000-message burst of the test, to
// report how close to the configured global limit the sender runs (the
// fake enforces the same limits; any 429 fails the benchmark).
func BenchmarkGlobalLimitAccuracy(b *testing.B) {
	for range b.N {
		fake := newFake(b, bottest.WithLimits(bottest.Limits{GlobalPerSecond: 1000, PrivatePerSecond: 50, GroupPerMinute: 600}))
		db := openDB(b)
		enqueue(b, db, burstMessages(burstChats(300), 10, Bulk)...)
		s := NewSender(db, newClient(b, fake), Config{Logger: slog.New(slog.DiscardHandler), Workers: 32,
			Limits: &Limits{Global: 1000, PrivateChat: 50, GroupPerMinute: 600}})
		stop := startSender(b, s)
		waitFor(b, time.Minute, "all sent", func() bool { return allFinal(b, db) })
		stop()
		calls := fake.CallsTo("sendMessage")
		// Steady state: skip the first bucketful (the sender's burst).
		span := calls[len(calls)-1].Time.Sub(calls[50].Time)
		rate := float64(len(calls)-51) / span.Seconds()
		b.ReportMetric(rate, "msg/s")
		b.ReportMetric(100*rate/1000, "%limit")
		b.ReportMetric(float64(fake.Summary().TooManyRequests), "429s")
		if fake.Summary().TooManyRequests != 0 {
			b.Fatalf("429s: %s", fake.Summary())
		}
	}
}

// BenchmarkMemory100kPending measures a process with 100,000 messages
// queued (to 10,000 chats) while the sender runs at Telegram's default
// limits: the queue lives in SQLite, so memory should not grow with it.
//
// Each phase runs in a fresh child process (this test binary re-executed,
// see memChild), so its peak RSS (VmHWM) is its own and not that of
// whatever ran earlier in the benchmark process. "seed" enqueues the
// 100,000 rows in 20 transactions of 5,000 (as an announcement would);
// "send" opens the file and sends for 3 s at the default limits (the
// issue's figure: rssMB, rssMB-peak, heapMB-*); "flat-out" then sends for
// 3 s with the limits off and 32 workers, the busiest the claim and record
// paths get (flat-*). The fake Bot API runs here in the parent: Telegram's
// memory is not the bot's. With OUTBOX_MEM_PROFILE=DIR each child also
// writes DIR/PHASE.heap.pprof (go tool pprof -sample_index=alloc_space).
func BenchmarkMemory100kPending(b *testing.B) {
	for range b.N {
		path := filepath.Join(b.TempDir(), "rsvpbot.db")
		fake := newFake(b)
		seed := runMemChild(b, "seed", path, fake)
		send := runMemChild(b, "send", path, fake)
		sent := fake.Summary().Calls
		flat := runMemChild(b, "flat-out", path, fake)
		b.ReportMetric(seed["rssMB-peak"], "seed-rssMB-peak")
		for _, k := range []string{"heapMB-before", "heapMB-peak", "rssMB", "rssMB-peak", "rssFileMB", "rssAnonMB", "goMB", "pending"} {
			b.ReportMetric(send[k], k)
		}
		b.ReportMetric(float64(sent), "sent")
		b.ReportMetric(flat["rssMB-peak"], "flat-rssMB-peak")
		b.ReportMetric(flat["heapMB-peak"], "flat-heapMB-peak")
		b.ReportMetric(float64(fake.Summary().Calls-sent)/flat["seconds"], "flat-msg/s")
	}
}

// The memory benchmark's child process: which phase, and where.
const (
	memChildEnv   = "OUTBOX_MEM_CHILD"
	memChildDB    = "OUTBOX_MEM_DB"
	memChildAPI   = "OUTBOX_MEM_API"
	memChildToken = "OUTBOX_MEM_TOKEN"
	memProfileDir = "OUTBOX_MEM_PROFILE"
)

// runMemChild runs one phase of the memory benchmark in a child process and
// returns the figures it printed (one JSON object on stdout).
func runMemChild(b *testing.B, phase, path string, fake *bottest.Server) map[string]float64 {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), memChildEnv+"="+phase, memChildDB+"="+path,
		memChildAPI+"="+fake.URL, memChildToken+"="+fake.Token)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("memory child %s: %v\n%s", phase, err, stderr.String())
	}
	var m map[string]float64
	if err := json.Unmarshal(out, &m); err != nil {
		b.Fatalf("memory child %s printed %q: %v\n%s", phase, out, err, stderr.String())
	}
	return m
}

// memChild is the memory benchmark child's main (TestMain runs it when
// memChildEnv is set): it runs one phase and prints its figures as JSON.
func memChild() int {
	profDir := os.Getenv(memProfileDir)
	if profDir != "" {
		runtime.MemProfileRate = 16 << 10 // the heap is a few MB: sample finely
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := store.Open(ctx, os.Getenv(memChildDB), WithSchema(store.Options{}))
	if err != nil {
		log.Error("memory child: open", "err", err)
		return 2
	}
	defer db.Close()
	var m map[string]float64
	phase := os.Getenv(memChildEnv)
	switch phase {
	case "seed":
		m, err = memSeed(ctx, db)
	case "send":
		m, err = memSend(ctx, db, log, Config{Logger: log})
	case "flat-out":
		m, err = memSend(ctx, db, log, Config{Logger: log, Workers: 32, Limits: &Limits{}})
	default:
		err = fmt.Errorf("unknown phase %q", phase)
	}
	if err == nil && profDir != "" {
		err = writeHeapProfile(filepath.Join(profDir, phase+".heap.pprof"))
	}
	if err != nil {
		log.Error("memory child", "err", err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(m); err != nil {
		return 1
	}
	return 0
}

// memSeed enqueues 100,000 messages to 10,000 chats (half of them groups)
// in transactions of 5,000.
func memSeed(ctx context.Context, db *store.DB) (map[string]float64, error) {
	const n, chats, perTx = 100_000, 10_000, 5000
	for i := 0; i < n; i += perTx {
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			for k := range perTx {
				c := int64((i+k)%chats + 1)
				if c%2 == 0 {
					c = -c
				}
				if _, err := Enqueue(ctx, tx, textMsg(c, Bulk, "reminder: board games tonight at 19:00")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return map[string]float64{"rssMB-peak": procMB("VmHWM"), "rssMB": procMB("VmRSS")}, nil
}

// memSend runs a sender with cfg for 3 s, sampling the Go heap every 50 ms.
// Beside the RSS it reports its parts at the end: rssFileMB is the
// binary's code (file-backed, shared, reclaimable), goMB what the Go
// runtime holds from the OS (heap, stacks, metadata; an upper bound of its
// anonymous RSS); the rest of the anonymous RSS is SQLite's (page caches,
// statements, schema) in modernc's allocator.
func memSend(ctx context.Context, db *store.DB, log *slog.Logger, cfg Config) (map[string]float64, error) {
	client, err := bot.NewClient(os.Getenv(memChildToken), os.Getenv(memChildAPI), bot.ClientOptions{Timeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	s := NewSender(db, client, cfg)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(rctx) }()
	var peakHeap uint64
	start := time.Now()
	for deadline := start.Add(3 * time.Second); time.Now().Before(deadline); {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peakHeap = max(peakHeap, m.HeapInuse)
		time.Sleep(50 * time.Millisecond)
	}
	st, err := ReadQueue(ctx, db.R, time.Now(), time.Hour)
	if err != nil {
		cancel()
		return nil, err
	}
	rss, file, anon := procMB("VmRSS"), procMB("RssFile"), procMB("RssAnon")
	var end runtime.MemStats
	runtime.ReadMemStats(&end)
	cancel()
	if err := <-done; err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	return map[string]float64{
		"heapMB-before": float64(before.HeapInuse) / (1 << 20),
		"heapMB-peak":   float64(peakHeap) / (1 << 20),
		"rssMB":         rss,
		"rssMB-peak":    procMB("VmHWM"),
		"rssFileMB":     file,
		"rssAnonMB":     anon,
		"goMB":          float64(end.Sys-end.HeapReleased) / (1 << 20),
		"pending":       float64(st.PendingTotal()),
		"seconds":       elapsed.Seconds(),
	}, nil
}

// writeHeapProfile writes the heap profile (live and allocated since start).
func writeHeapProfile(path string) error {
	runtime.GC() // the profile is as of the last collection
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return errors.Join(pprof.WriteHeapProfile(f), f.Close())
}

// procMB reads a kB field of /proc/self/status in MiB.
func procMB(field string) float64 { return float64(procStatus(field)) / (1 << 10) }

// procStatus reads a kB field of /proc/self/status (0 where unavailable).
func procStatus(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
