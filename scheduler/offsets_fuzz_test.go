package scheduler

import (
	"slices"
	"testing"
	"time"
)

// /remind offsets and RSVPBOT_REMINDERS: any text, no panic; what is
// accepted is positive, at most 60 days, without repeats, latest first.
func FuzzParseOffsets(f *testing.F) {
	for _, s := range []string{"24h,1h", "2h,15m", "off", "1d, 90m", "", ",", "-1h", "100d", "1e9h", "1h,1h", "NaNd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		offs, err := ParseOffsets(s)
		if err != nil {
			return
		}
		for i, d := range offs {
			if d <= 0 || d > 60*24*time.Hour || (i > 0 && d >= offs[i-1]) {
				t.Fatalf("ParseOffsets(%q) = %v", s, offs)
			}
		}
		if len(offs) > MaxOffsets {
			t.Fatalf("ParseOffsets(%q) = %d offsets", s, len(offs))
		}
		if len(slices.Compact(slices.Clone(offs))) != len(offs) {
			t.Fatalf("ParseOffsets(%q) repeats: %v", s, offs)
		}
	})
}
