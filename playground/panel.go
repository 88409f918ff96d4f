package playground

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rsvpbot/rsvpbot/cmd/tgemu/emu"
	"github.com/rsvpbot/rsvpbot/outbox"
)

// Panel is the pipeline panel: the bot process, its outbox as its own
// /metrics reports it, the last ledger rows from its database (opened
// read-only), and what the emulator saw (sends per second, 429s).
type Panel struct {
	Bot BotState `json:"bot"`
	Log []string `json:"log"`

	// SendsPerSecond is the successful sending calls the emulator
	// answered in each of the last 60 seconds, oldest first.
	SendsPerSecond []int `json:"sends_per_second"`
	// LimitPerSecond is Telegram's overall limit (and the bot's pacing).
	LimitPerSecond  float64 `json:"limit_per_second"`
	TooManyRequests int     `json:"too_many_requests"` // 429s the emulator gave
	ServerErrors    int     `json:"server_errors"`     // 5xx and dropped connections it gave

	// From the bot's /metrics (since the bot's start; null while down).
	Metrics *BotMetrics `json:"metrics"`

	Ledger  []LedgerRow `json:"ledger"`
	Chaos   emu.Chaos   `json:"chaos"`
	Weather struct {
		Source string `json:"source"`
		Down   bool   `json:"down"`
	} `json:"weather"`
}

// BotMetrics are the figures the panel takes from the bot's /metrics.
type BotMetrics struct {
	// Outbox is messages by state (pending, sending, dead) and lane
	// (interactive, edit, bulk).
	Outbox        map[string]map[string]float64 `json:"outbox"`
	Sent          float64                       `json:"sent"`
	Retries       float64                       `json:"retries"`
	DeadLetters   float64                       `json:"dead_letters"`
	RateLimited   float64                       `json:"rate_limited"`
	InboxPending  float64                       `json:"inbox_pending"`
	Reachable     float64                       `json:"telegram_reachable"`
	PausedSeconds float64                       `json:"sender_paused_seconds"`
	Handled       float64                       `json:"updates_handled"`
}

// LedgerRow is one delivery attempt as the ledger recorded it.
type LedgerRow struct {
	ID      int64  `json:"id"`
	Time    string `json:"time"`
	ChatID  int64  `json:"chat_id"`
	Method  string `json:"method"`
	Attempt int    `json:"attempt"`
	Outcome string `json:"outcome"`
	Status  int    `json:"http_status"`
}

type panelState struct {
	mu      sync.Mutex
	emu     *emu.Emulator // the emulator lastSeq refers to
	lastSeq int
	sends   []int // per second, newest last
	given   map[int]int
	latest  Panel
	client  *http.Client
}

func newPanelState() *panelState {
	return &panelState{sends: make([]int, 60), given: map[int]int{}, client: &http.Client{Timeout: 2 * time.Second}}
}

func (s *panelState) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emu, s.lastSeq, s.sends, s.given = nil, 0, make([]int, 60), map[int]int{}
}

// Latest returns the last panel computed.
func (s *panelState) Latest() Panel {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest
}

// run computes the panel every second and sends it to the page.
func (s *panelState) run(ctx context.Context, p *Playground) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		panel := s.compute(ctx, p)
		raw, err := json.Marshal(panel)
		if err != nil {
			continue
		}
		p.events.send("panel", string(raw))
	}
}

func (s *panelState) compute(ctx context.Context, p *Playground) Panel {
	e := p.emulator()
	var panel Panel
	panel.Bot = p.child.State()
	panel.Log = p.child.logs.Tail(8)
	panel.LimitPerSecond = emu.TelegramGlobalPerSecond
	panel.Chaos = e.Chaos()
	panel.Weather.Source, panel.Weather.Down = p.weather.Source(), p.weather.Down()
	if panel.Bot.OpsURL != "" {
		panel.Metrics = s.scrape(ctx, panel.Bot.OpsURL)
	}
	panel.Ledger = lastLedger(ctx, p.cfg.DB, 8)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.emu != e {
		s.emu, s.lastSeq = e, 0
	}
	n := 0
	for _, c := range e.Fake.CallsSince(s.lastSeq) {
		s.lastSeq = c.Seq
		if emu.IsSending(c.Method) && c.OK() {
			n++
		}
		if c.Status == http.StatusTooManyRequests || c.Status >= 500 || c.Dropped {
			s.given[c.Status]++
		}
	}
	s.sends = append(s.sends[1:], n)
	panel.SendsPerSecond = append([]int(nil), s.sends...)
	panel.TooManyRequests = s.given[http.StatusTooManyRequests]
	for status, k := range s.given {
		if status != http.StatusTooManyRequests {
			panel.ServerErrors += k
		}
	}
	s.latest = panel
	return panel
}

// scrape reads the bot's /metrics; nil if it does not answer.
func (s *panelState) scrape(ctx context.Context, opsURL string) *BotMetrics {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, opsURL+"/metrics", nil)
	if err != nil {
		return nil
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil
	}
	sum := func(name string) float64 {
		var total float64
		if f, ok := fams[name]; ok {
			for _, m := range f.GetMetric() {
				total += value(m)
			}
		}
		return total
	}
	bm := &BotMetrics{Outbox: map[string]map[string]float64{},
		Sent: sum("rsvpbot_outbox_sent_total"), Retries: sum("rsvpbot_outbox_retries_total"),
		DeadLetters: sum("rsvpbot_outbox_dead_letters_total"), RateLimited: sum("rsvpbot_outbox_rate_limited_total"),
		InboxPending: sum("rsvpbot_inbox_pending"), Reachable: sum("rsvpbot_telegram_reachable"),
		PausedSeconds: sum("rsvpbot_sender_paused_seconds"), Handled: sum("rsvpbot_updates_handled_total")}
	if f, ok := fams["rsvpbot_outbox_messages"]; ok {
		for _, m := range f.GetMetric() {
			var state, lane string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "state":
					state = l.GetValue()
				case "lane":
					lane = l.GetValue()
				}
			}
			if bm.Outbox[state] == nil {
				bm.Outbox[state] = map[string]float64{}
			}
			bm.Outbox[state][lane] = value(m)
		}
	}
	return bm
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

// lastLedger reads the newest ledger rows from the bot's database, opened
// read-only for the moment (the bot owns it; a reset may delete it).
func lastLedger(ctx context.Context, path string, n int) []LedgerRow {
	rows := []LedgerRow{}
	db, err := openReadOnly(ctx, path)
	if err != nil {
		return rows
	}
	defer db.Close()
	attempts, err := outbox.LastAttempts(ctx, db.R, n)
	if err != nil {
		return rows
	}
	for _, a := range attempts {
		rows = append(rows, LedgerRow{ID: a.ID, Time: a.CreatedAt.Local().Format("15:04:05"), ChatID: a.ChatID,
			Method: a.Method, Attempt: a.Attempt, Outcome: string(a.Outcome), Status: a.HTTPStatus})
	}
	return rows
}
