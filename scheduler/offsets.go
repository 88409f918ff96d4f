package scheduler

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ParseOffsets reads a reminder offset list such as "24h,1h", "2d,90m" or
// "off" (no reminders). Offsets are positive, at most 60 days, de-duplicated
// and sorted longest first.
func ParseOffsets(s string) ([]time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "off" || s == "none" {
		return nil, nil
	}
	if s == "" {
		return nil, errors.New("is empty")
	}
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		var d time.Duration
		var err error
		if days, ok := strings.CutSuffix(f, "d"); ok {
			var n float64
			n, err = strconv.ParseFloat(days, 64)
			d = time.Duration(n * float64(24*time.Hour))
		} else {
			d, err = time.ParseDuration(f)
		}
		if err != nil || d <= 0 || d > 60*24*time.Hour {
			return nil, fmt.Errorf("%q is not a positive duration up to 60d", f)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b time.Duration) int { return int(b - a) })
	return out, nil
}
