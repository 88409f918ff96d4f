package outbox

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
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

// BenchmarkMemory100kPending measures the process with 100,000 messages
// queued (to 10,000 chats) while the sender runs at Telegram's default
// limits: the queue lives in SQLite, so memory should not grow with it.
func BenchmarkMemory100kPending(b *testing.B) {
	for range b.N {
		db := openDB(b)
		ctx := context.Background()
		const n, chats = 100_000, 10_000
		for i := 0; i < n; i += 5000 {
			err := db.Tx(ctx, func(tx *sql.Tx) error {
				for k := range 5000 {
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
				b.Fatal(err)
			}
		}
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)

		fake := newFake(b)
		s := NewSender(db, newClient(b, fake), Config{Logger: slog.New(slog.DiscardHandler)})
		stop := startSender(b, s)
		deadline := time.Now().Add(3 * time.Second)
		var peakHeap uint64
		for time.Now().Before(deadline) {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peakHeap = max(peakHeap, m.HeapInuse)
			time.Sleep(100 * time.Millisecond)
		}
		st, err := ReadQueue(ctx, db.R, time.Now(), time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		stop()
		b.ReportMetric(float64(before.HeapInuse)/(1<<20), "heapMB-before")
		b.ReportMetric(float64(peakHeap)/(1<<20), "heapMB-peak")
		b.ReportMetric(float64(procStatus("VmRSS"))/(1<<10), "rssMB")
		b.ReportMetric(float64(procStatus("VmHWM"))/(1<<10), "rssMB-peak")
		b.ReportMetric(float64(st.PendingTotal()), "pending")
		b.ReportMetric(float64(fake.Summary().Calls), "sent")
	}
}

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
