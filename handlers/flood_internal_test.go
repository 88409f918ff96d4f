package handlers

import (
	"testing"
	"time"
)

// Buckets that have refilled are forgotten, so memory follows the users
// and groups active in the last minute or so, not all ever seen; a bucket
// still draining, or a user still inside their notice window, is kept.
func TestFloodEvictsIdleBuckets(t *testing.T) {
	f := testApp(t).FloodGuard(FloodConfig{UserPerMinute: 20, ChatPerMinute: 15})
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range int64(1000) {
		f.decide(1000+i, -(1 + i%100), t0, false, false)
	}
	if u, c := f.size(); u != 1000 || c != 100 {
		t.Fatalf("after the burst: %d users, %d groups", u, c)
	}
	// At t0+100s everybody has refilled and is swept; a flooder told to
	// slow down then is kept while their notice window lasts.
	at := t0.Add(100 * time.Second)
	for range 11 {
		f.decide(7, 0, at, false, false)
	}
	if v := f.decide(7, 0, at, false, false); v.ok || v.notify {
		t.Fatalf("flooder: %+v, want dropped without a second notice", v)
	}
	if u, c := f.size(); u != 1 || c != 0 {
		t.Fatalf("after the sweep: %d users, %d groups; want only the flooder", u, c)
	}
	f.decide(8, -5000, t0.Add(4*time.Minute), false, false)
	if u, c := f.size(); u != 1 || c != 1 {
		t.Fatalf("after the next sweep: %d users, %d groups; want only the newest user and group", u, c)
	}
}

// The budgets' decisions with the clock moved by hand: burst, refill,
// light senders first in a group, one notice per window.
func TestFloodDecisions(t *testing.T) {
	f := testApp(t).FloodGuard(FloodConfig{UserPerMinute: 20, ChatPerMinute: 15})
	if f.userBurst != 10 || f.chatBurst != 3 {
		t.Fatalf("bursts: user %d, chat %d; want 10 and 3", f.userBurst, f.chatBurst)
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var got []string
	for range 12 {
		v := f.decide(1, 0, t0, false, false)
		got = append(got, verdictString(v))
	}
	want := "ok ok ok ok ok ok ok ok ok ok user+notice(3s) user(3s)"
	if s := joinVerdicts(got); s != want {
		t.Fatalf("private flood: %s, want %s", s, want)
	}
	// Group -9: a heavy sender (2, who asked a moment ago) needs a full
	// bucket and nothing queued, a quiet one (3, 4) a single token.
	f.decide(2, -9, t0, false, false) // 2 is light: takes one of 3
	if v := f.decide(2, -9, t0, false, false); v.ok || v.scope != "chat" || v.notify {
		t.Fatalf("heavy sender: %+v", v)
	}
	for _, quiet := range []int64{3, 4} {
		if v := f.decide(quiet, -9, t0, true, false); !v.ok {
			t.Fatalf("quiet member %d refused: %+v", quiet, v)
		}
	}
	if v := f.decide(5, -9, t0, false, false); v.ok || v.scope != "chat" || v.wait != 4*time.Second {
		t.Fatalf("empty group bucket: %+v, want a chat drop with 4 s", v)
	}
	// A heavy sender (6 just asked in private) in an idle group with a
	// full bucket is answered only if nothing of the group is queued.
	f.decide(6, 0, t0, false, false)
	if v := f.decide(6, -10, t0, true, false); v.ok || v.scope != "chat" {
		t.Fatalf("heavy sender answered with a reply queued: %+v", v)
	}
	if v := f.decide(6, -10, t0, false, false); !v.ok {
		t.Fatalf("heavy sender refused in an idle group: %+v", v)
	}
	// Off: everything passes.
	off := testApp(t).FloodGuard(FloodConfig{})
	for range 100 {
		if v := off.decide(1, -9, t0, false, false); !v.ok {
			t.Fatal("disabled budgets refused a command")
		}
	}
}

func verdictString(v floodVerdict) string {
	if v.ok {
		return "ok"
	}
	s := v.scope
	if v.notify {
		s += "+notice"
	}
	return s + "(" + v.wait.Round(time.Second).String() + ")"
}

func joinVerdicts(vs []string) string {
	out := ""
	for i, v := range vs {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out
}
