package weather

import (
	"errors"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/internal/clocktest"
)

func TestTTLCacheExpires(t *testing.T) {
	clk := clocktest.New(time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC))
	c := newTTLCache[int](10, clk.Now)
	c.put("a", 1, nil, time.Minute)
	if e, ok := c.get("a"); !ok || e.val != 1 {
		t.Fatalf("get a = %v, %v; want 1, true", e.val, ok)
	}
	clk.Advance(59 * time.Second)
	if _, ok := c.get("a"); !ok {
		t.Fatal("entry expired before its TTL")
	}
	clk.Advance(time.Second)
	if _, ok := c.get("a"); ok {
		t.Fatal("entry outlived its TTL")
	}
	if c.len() != 0 {
		t.Fatalf("expired entry still held: len %d", c.len())
	}
}

func TestTTLCacheEvictsLeastRecentlyUsed(t *testing.T) {
	clk := clocktest.New(time.Unix(0, 0))
	c := newTTLCache[int](2, clk.Now)
	c.put("a", 1, nil, time.Hour)
	c.put("b", 2, nil, time.Hour)
	c.get("a") // a is now more recent than b
	c.put("c", 3, nil, time.Hour)
	if _, ok := c.get("b"); ok {
		t.Error("b should have been evicted")
	}
	if _, ok := c.get("a"); !ok {
		t.Error("a was evicted although recently used")
	}
	if _, ok := c.get("c"); !ok {
		t.Error("c missing")
	}
	if c.len() != 2 {
		t.Errorf("len = %d, want 2", c.len())
	}
}

func TestTTLCacheStoresErrorsAndReplaces(t *testing.T) {
	clk := clocktest.New(time.Unix(0, 0))
	c := newTTLCache[int](2, clk.Now)
	c.put("a", 0, ErrPlaceNotFound, time.Hour)
	if e, ok := c.get("a"); !ok || !errors.Is(e.err, ErrPlaceNotFound) {
		t.Fatalf("get a = %v, %v; want cached ErrPlaceNotFound", e.err, ok)
	}
	c.put("a", 7, nil, time.Hour)
	if e, ok := c.get("a"); !ok || e.err != nil || e.val != 7 {
		t.Fatalf("replaced entry = %+v, %v", e, ok)
	}
	if c.len() != 1 {
		t.Fatalf("len = %d after replace, want 1", c.len())
	}
}

func TestTTLCacheDisabled(t *testing.T) {
	clk := clocktest.New(time.Unix(0, 0))
	for _, tc := range []struct {
		name string
		max  int
		ttl  time.Duration
	}{{"zero ttl", 10, 0}, {"negative ttl", 10, -time.Second}, {"negative size", -1, time.Hour}} {
		c := newTTLCache[int](tc.max, clk.Now)
		c.put("a", 1, nil, tc.ttl)
		if _, ok := c.get("a"); ok {
			t.Errorf("%s: entry was stored", tc.name)
		}
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	s := New(nil, Config{BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second})
	for i, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		for range 50 {
			got := s.backoff(i + 1)
			if got < want/2 || got > want {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", i+1, got, want/2, want)
			}
		}
	}
}
