package load

import (
	"fmt"
	"io"

	"github.com/rsvpbot/rsvpbot/cmd/rsvpload/internal/chart"
)

// WriteChart draws the run's pacing: messages sent per second (and 429s)
// against the bot's and the emulator's global limits, with the outbox's
// pending depth on the right axis and SIGKILLs as dotted lines, so that an
// operator sees at a glance whether the sender kept to the limit and how
// the queue filled and drained.
func (r *Result) WriteChart(w io.Writer) error {
	var sent, tooMany, handled, pending, bulk []chart.Point
	any429 := false
	for _, s := range r.Series {
		t := float64(s.T)
		sent = append(sent, chart.Point{X: t, Y: float64(s.Sent)})
		tooMany = append(tooMany, chart.Point{X: t, Y: float64(s.TooMany)})
		handled = append(handled, chart.Point{X: t, Y: float64(s.Handled)})
		pending = append(pending, chart.Point{X: t, Y: float64(s.Pending[0] + s.Pending[1] + s.Pending[2])})
		bulk = append(bulk, chart.Point{X: t, Y: float64(s.Pending[2])})
		any429 = any429 || s.TooMany > 0
	}
	c := chart.Chart{
		Title:   fmt.Sprintf("rsvpload %s: messages sent per second and outbox depth", r.Mode),
		XLabel:  "seconds since the load started",
		YLabel:  "per second",
		Y2Label: "outbox rows pending",
		Series: []chart.Series{
			{Name: "pending (all lanes)", Color: "#9467bd", Points: pending, Right: true, Area: true},
			{Name: "updates handled/s", Color: "#2ca02c", Points: handled, Dashed: true},
			{Name: "messages sent/s", Color: "#1f77b4", Points: sent},
		},
	}
	if r.Spike != nil {
		c.Series = append(c.Series, chart.Series{Name: "pending bulk", Color: "#8c564b", Points: bulk, Right: true, Dashed: true})
	}
	if any429 {
		c.Series = append(c.Series, chart.Series{Name: "429s/s", Color: "#d62728", Points: tooMany})
	}
	if l := r.BotLimit.GlobalPerSecond; l > 0 {
		label := fmt.Sprintf("bot's global limit %g/s", l)
		if l == r.Emulator.Limits.GlobalPerSecond {
			label = fmt.Sprintf("global limit %g/s (bot and emulator)", l)
		}
		c.HLines = append(c.HLines, chart.HLine{Y: l, Label: label, Color: "#ff7f0e"})
	}
	if l := r.Emulator.Limits.GlobalPerSecond; l > 0 && l != r.BotLimit.GlobalPerSecond {
		c.HLines = append(c.HLines, chart.HLine{Y: l, Label: fmt.Sprintf("Telegram's (emulated) limit %g/s", l), Color: "#d62728"})
	}
	for _, k := range r.Kills {
		c.VLines = append(c.VLines, chart.VLine{X: k, Color: "#7f7f7f"})
	}
	c.VLegend = "SIGKILL"
	return c.Write(w)
}
