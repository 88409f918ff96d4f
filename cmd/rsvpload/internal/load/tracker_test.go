package load

import (
	"testing"
	"time"
)

func TestTagsAreFoundInReplies(t *testing.T) {
	re := newTagRegexps()
	for _, tc := range []struct {
		text string
		n    int
		bulk bool
		ok   bool
	}{
		{"I don't know the time zone “[seq:42]”.", 42, false, true},
		{"Sorry, I don't know /zq7. Try /help.", 7, false, true},
		{"Den Befehl /zq7 kenne ich leider nicht.", 7, false, true},
		{"⏰ Reminder {bulk:9}", 9, true, true},
		{"Sorry, I don't know /zqprobe.", 0, false, false},
		{"/start", 0, false, false},
	} {
		n, bulk, ok := re.find(tc.text)
		if n != tc.n || bulk != tc.bulk || ok != tc.ok {
			t.Errorf("find(%q) = %d, %v, %v", tc.text, n, bulk, ok)
		}
	}
	if n, ok := re.findCard("Picnic {ev:5}", `{"inline_keyboard":[[{"text":"Going","callback_data":"rsvp:1:go"}]]}`); !ok || n != 5 {
		t.Errorf("card not found: %d %v", n, ok)
	}
	if _, ok := re.findCard("Upcoming: Picnic {ev:5}", `{"inline_keyboard":[[{"text":"Mute","callback_data":"rem:1:mute"}]]}`); ok {
		t.Error("a reminder was taken for the card")
	}
}

func TestOrderViolations(t *testing.T) {
	at := time.Now()
	tags := map[int]*tagInfo{
		1: {n: 1, chat: 10, deliveries: []delivery{{seq: 1, at: at}, {seq: 2, at: at}}}, // a duplicate, not a violation
		2: {n: 2, chat: 10, deliveries: []delivery{{seq: 4, at: at}}},
		3: {n: 3, chat: 10, deliveries: []delivery{{seq: 3, at: at}}}, // 3 before 2: 2 is late
		4: {n: 4, chat: 20, deliveries: []delivery{{seq: 5, at: at}}},
	}
	var pr problems
	if v := orderViolations(tags, &pr, "order"); v != 1 || len(pr.list) != 1 {
		t.Fatalf("violations %d, problems %v", v, pr.list)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(d, .95); p != 95*time.Millisecond {
		t.Fatalf("p95 %v", p)
	}
	if p := percentile(nil, .5); p != 0 {
		t.Fatalf("empty %v", p)
	}
}

func TestCleanEnv(t *testing.T) {
	got := cleanEnv([]string{"PATH=/bin", "RSVPBOT_WEBHOOK_URL=https://x", "TELEGRAM_API_URL=https://api.telegram.org", "HOME=/root", "LOG_LEVEL=debug"})
	if len(got) != 2 || got[0] != "PATH=/bin" || got[1] != "HOME=/root" {
		t.Fatalf("%v", got)
	}
}

// A spike run fails when it misses a target: rate, 429s, reply latency.
func TestJudgeSpike(t *testing.T) {
	good := SpikeFigures{Messages: 10000, DrainSecs: 100, PercentOfLimit: 98.2, Interactive: LatencyFigures{Count: 40, P95Ms: 536}}
	for _, tc := range []struct {
		name string
		edit func(*SpikeFigures)
		ok   bool
	}{
		{"on target", func(*SpikeFigures) {}, true},
		{"slow sender", func(f *SpikeFigures) { f.PercentOfLimit = 80 }, false},
		{"429s", func(f *SpikeFigures) { f.TooManyDuring = 1 }, false},
		{"slow replies", func(f *SpikeFigures) { f.Interactive.P95Ms = 9000 }, false},
		{"too short to judge", func(f *SpikeFigures) { f.DrainSecs = 1; f.PercentOfLimit = 10 }, true},
	} {
		f := good
		tc.edit(&f)
		var pr problems
		if got := judgeSpike(&f, 100, &pr); got != tc.ok || (got == (len(pr.list) > 0)) {
			t.Errorf("%s: ok = %v with problems %q, want %v", tc.name, got, pr.list, tc.ok)
		}
	}
}
