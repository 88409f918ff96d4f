package handlers

import "testing"

func TestInvisible(t *testing.T) {
	for s, want := range map[string]bool{
		"": true, " \t\n": true, "\u200b": true, "\u200c\u200d\u2060\ufeff": true, "\u00ad": true, "\u3164\u115f\uffa0": true,
		"\u2800": true, "\u034f\ufe0f": true, "\u0301": true, "\U000e0041": true,
		"Games": false, "\u200bGames": false, "कि": false, "🙂": false, "٠": false, "·": false,
	} {
		if got := invisible(s); got != want {
			t.Errorf("invisible(%q) = %v, want %v", s, got, want)
		}
	}
}
