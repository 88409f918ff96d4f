package load

import (
	"context"
	"time"

	"github.com/rsvpbot/rsvpbot/cmd/tgemu/emu"
)

// runRamp raises the rate step by step until the bot or the emulator pushes
// back. A step is judged by the replies to the updates pushed during it,
// P95Threshold after it ended (while the next step's load already runs, so
// that judging does not give the bot a breather): it fails when their p95
// is above the threshold (undelivered replies count as waiting until then)
// or when the emulator answered any 429 meanwhile. Only replies in private
// chats are judged: group replies are paced at 20 a minute per group on
// purpose, so their latency measures that limit, not the bot's load (it is
// reported alongside). The last step is the
// failing one; the one before is the sustainable rate.
func runRamp(ctx context.Context, cfg Config, d *driver, tr *tracker, e *emu.Emulator, logf func(string, ...any)) []RampStep {
	start := time.Now()
	var steps []RampStep
	rate := cfg.Rate
	judge := min(cfg.P95Threshold, cfg.RampStep)
	type pending struct {
		rate       float64
		from, to   time.Time
		pushedFrom int
		pushedTo   int
		sentFrom   int
	}
	var prev *pending
	// judgeStep evaluates the previous step at the start of the next one.
	judgeStep := func(next time.Time, sentNext int) bool {
		tr.refresh(e.Fake)
		now := time.Now()
		lat, _ := tr.latencies(prev.from, prev.to, now, true)
		glat, _ := tr.latencies(prev.from, prev.to, now, false)
		st := RampStep{Rate: prev.rate, Pushed: float64(prev.pushedTo-prev.pushedFrom) / prev.to.Sub(prev.from).Seconds(),
			SentPerSecond: float64(sentNext-prev.sentFrom) / next.Sub(prev.from).Seconds(),
			P50Ms:         ms(percentile(lat, .5)), P95Ms: ms(percentile(lat, .95)), GroupP95Ms: ms(percentile(glat, .95)),
			TooMany: tr.tooManyBetween(prev.from, now)}
		st.Pass = percentile(lat, .95) <= cfg.P95Threshold && st.TooMany == 0
		steps = append(steps, st)
		logf("ramp %.1f updates/s: p95 %.0f ms, %d 429s, %.1f sent/s", st.Rate, st.P95Ms, st.TooMany, st.SentPerSecond)
		return st.Pass
	}
	for ctx.Err() == nil && time.Since(start) < cfg.Duration {
		cur := &pending{rate: rate, from: time.Now(), pushedFrom: tr.pushCount(), sentFrom: e.Fake.Summary().MessagesSent}
		r := rate
		if prev != nil {
			// Judge the previous step once its replies had time to come.
			d.run(ctx, judge, func(time.Duration) float64 { return r })
			if !judgeStep(cur.from, cur.sentFrom) {
				return steps
			}
			d.run(ctx, cfg.RampStep-judge, func(time.Duration) float64 { return r })
		} else {
			d.run(ctx, cfg.RampStep, func(time.Duration) float64 { return r })
		}
		cur.to, cur.pushedTo = time.Now(), tr.pushCount()
		prev = cur
		if rate >= cfg.MaxRate {
			break
		}
		rate = min(cfg.MaxRate, rate*cfg.RampFactor)
	}
	if prev != nil && ctx.Err() == nil {
		// The last step ran to the end of the ramp: judge it without load.
		next, sent := time.Now(), e.Fake.Summary().MessagesSent
		time.Sleep(judge)
		judgeStep(next, sent)
	}
	return steps
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
