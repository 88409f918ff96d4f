package ops_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/ops"
)

// BenchmarkAPIPostMessage measures POST /v1/messages over loopback HTTP:
// parallel clients with keep-alive connections, each request a new message
// with its own idempotency key, to one of 100 chats. It reports requests
// per second and the latency percentiles the clients saw.
//
// "alone" has no sender, so the API has the database to itself; "sending"
// runs the outbox sender against the fake Bot API at the same time (no rate
// limits), so the API competes with it for the writer and the CPU. The
// clients run flat out (throughput at saturation, where latency is mostly
// queueing for the single writer), GOMAXPROCS×N of them; "500rps" paces
// them at 500 requests per second in all, the latency of a busy but not
// saturated bot. The load generator shares the machine with the server.
//
//	go test -run '^$' -bench APIPostMessage -benchtime 10000x ./ops/
func BenchmarkAPIPostMessage(b *testing.B) {
	b.Run("alone/clients=1xCPU", func(b *testing.B) { benchPost(b, false, 1, 0) })
	b.Run("alone/clients=4xCPU", func(b *testing.B) { benchPost(b, false, 4, 0) })
	b.Run("sending/clients=4xCPU", func(b *testing.B) { benchPost(b, true, 4, 0) })
	b.Run("sending/500rps", func(b *testing.B) { benchPost(b, true, 16, 500) })
}

// benchPost posts b.N messages from GOMAXPROCS×parallelism clients; rate >
// 0 paces them (requests per second in all).
func benchPost(b *testing.B, withSender bool, parallelism int, rate float64) {
	db := openDB(b)
	const chats = 100
	for c := range int64(chats) {
		addChat(b, db, 1000+c, true, "")
	}
	metrics := ops.NewMetrics(ops.MetricsConfig{DB: db})
	api, err := ops.NewAPI(ops.APIConfig{DB: db, Token: testToken, Metrics: metrics})
	if err != nil {
		b.Fatal(err)
	}
	srv := newTestServer(b, ops.NewServer(ops.Config{API: api, Metrics: metrics}))
	if withSender {
		fake := bottest.NewServer()
		b.Cleanup(fake.Close)
		runSender(b, db, fake, metrics.Outbox(), time.Second)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}}
	defer client.CloseIdleConnections()

	var seq atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var failed atomic.Int64
	b.SetParallelism(parallelism)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			n := seq.Add(1)
			if rate > 0 {
				time.Sleep(time.Until(start.Add(time.Duration(float64(n-1) / rate * float64(time.Second)))))
			}
			body := fmt.Sprintf(`{"chat_id": %d, "text": "benchmark message %d", "idempotency_key": "bench-%d"}`, 1000+n%chats, n, n)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testToken)
			req.Header.Set("Content-Type", "application/json")
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				failed.Add(1)
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mine = append(mine, time.Since(t0))
			if resp.StatusCode != http.StatusAccepted {
				failed.Add(1)
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed", f, b.N)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
}
