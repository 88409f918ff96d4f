package ops_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rsvpbot/rsvpbot/ops"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/store/storetest"
)

const testToken = "test-token-0123456789abcdef"

func openDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), storetest.DSN(t, filepath.Join(t.TempDir(), "rsvpbot.db")), outbox.WithSchema(store.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// addChat records a chat as the intake would.
func addChat(t testing.TB, db *store.DB, id int64, active bool, reason string) {
	t.Helper()
	typ := "private"
	if id < 0 {
		typ = "group"
	}
	err := db.Tx(context.Background(), func(tx *sql.Tx) error {
		if err := store.UpsertChat(context.Background(), tx, store.Chat{ID: id, Type: typ}, time.Now()); err != nil {
			return err
		}
		return store.SetChatActive(context.Background(), tx, id, active, reason)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// env is an ops server over real HTTP.
type env struct {
	t       testing.TB
	db      *store.DB
	metrics *ops.Metrics
	health  *ops.Health
	srv     *httptest.Server
	logs    *logBuffer
}

type envOptions struct {
	db     *store.DB
	health *ops.HealthConfig
	noAPI  bool
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	e := &env{t: t, db: o.db, logs: &logBuffer{}}
	if e.db == nil {
		e.db = openDB(t)
	}
	log := e.logs.logger()
	hc := ops.HealthConfig{DB: e.db, Logger: log}
	if o.health != nil {
		hc = *o.health
		hc.Logger = log
	}
	e.health = ops.NewHealth(hc)
	e.health.TelegramCall(nil)
	e.metrics = ops.NewMetrics(ops.MetricsConfig{DB: e.db, Version: "test", Health: e.health, Logger: log})
	cfg := ops.Config{Health: e.health, Metrics: e.metrics, Logger: log}
	if !o.noAPI {
		api, err := ops.NewAPI(ops.APIConfig{DB: e.db, Token: testToken, Metrics: e.metrics, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		cfg.API = api
	}
	e.srv = httptest.NewServer(ops.NewServer(cfg))
	t.Cleanup(e.srv.Close)
	return e
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not JSON: %v\n%s", r.status, err, r.body)
	}
	return m
}

// apiError returns the error object of a JSON error answer.
func (r response) apiError(t testing.TB) map[string]any {
	t.Helper()
	e, ok := r.json(t)["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %s", r.body)
	}
	return e
}

// do makes a request; token "" sends no Authorization header.
func (e *env) do(method, path, token string, body io.Reader, header ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *env) post(path, body string, header ...string) response {
	e.t.Helper()
	return e.do(http.MethodPost, path, testToken, strings.NewReader(body), append([]string{"Content-Type", "application/json"}, header...)...)
}

func (e *env) get(path string) response {
	e.t.Helper()
	return e.do(http.MethodGet, path, testToken, nil)
}

// scrape reads /metrics.
func (e *env) scrape() metrics {
	e.t.Helper()
	r := e.do(http.MethodGet, "/metrics", "", nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("/metrics: %d %s", r.status, r.body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(r.body))
	if err != nil {
		e.t.Fatalf("parsing /metrics: %v\n%s", err, r.body)
	}
	return metrics{fams: fams, raw: string(r.body)}
}

type metrics struct {
	fams map[string]*dto.MetricFamily
	raw  string
}

// value sums the samples of name whose labels include want (counters and
// gauges; for histograms, the sample count).
func (m metrics) value(name string, want ...string) float64 {
	f, ok := m.fams[name]
	if !ok {
		return -1
	}
	var sum float64
samples:
	for _, s := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range s.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				continue samples
			}
		}
		switch {
		case s.Counter != nil:
			sum += s.Counter.GetValue()
		case s.Gauge != nil:
			sum += s.Gauge.GetValue()
		case s.Histogram != nil:
			sum += float64(s.Histogram.GetSampleCount())
		}
	}
	return sum
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func count(t testing.TB, db *store.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.R.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func newTestServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}
