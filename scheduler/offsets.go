package scheduler

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads one duration as people and operators write them: a
// Go duration ("90m", "1h30m") or a number of days ("2d", "1.5d"). Day
// counts beyond 100 years are refused rather than overflowing.
func ParseDuration(s string) (time.Duration, error) {
	days, ok := strings.CutSuffix(strings.TrimSpace(s), "d")
	if !ok {
		return time.ParseDuration(strings.TrimSpace(s))
	}
	n, err := strconv.ParseFloat(days, 64)
	if err != nil || math.IsNaN(n) || math.Abs(n) > 36500 {
		return 0, fmt.Errorf("%q is not a number of days", s)
	}
	return time.Duration(n * float64(24*time.Hour)), nil
}

// MaxOffsets is the most reminders one event may have: enough for any
// real plan, and it keeps a reply that lists them short.
const MaxOffsets = 10

// ErrTooManyOffsets is ParseOffsets' error for a list of more than
// MaxOffsets different offsets.
var ErrTooManyOffsets = fmt.Errorf("more than %d reminders", MaxOffsets)

// ParseOffsets reads a reminder offset list such as "24h,1h", "2d,90m" or
// "off" (no reminders). Offsets are positive, at most 60 days, de-duplicated
// and sorted longest first; more than MaxOffsets is ErrTooManyOffsets.
func ParseOffsets(s string) ([]time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "off" || s == "none" {
		// Empty, not nil: nil means "the default" to NewReminders and
		// EnableReminders, and "off" must stay off.
		return []time.Duration{}, nil
	}
	if s == "" {
		return nil, errors.New("is empty")
	}
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		d, err := ParseDuration(f)
		if err != nil || d <= 0 || d > 60*24*time.Hour {
			return nil, fmt.Errorf("%q is not a positive duration up to 60d", f)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
		if len(out) > MaxOffsets {
			return nil, ErrTooManyOffsets
		}
	}
	slices.SortFunc(out, func(a, b time.Duration) int { return int(b - a) })
	return out, nil
}
