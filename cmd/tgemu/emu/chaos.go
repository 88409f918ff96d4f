package emu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

// Chaos switches: the misbehaviours a person can turn on by hand (the
// playground's buttons, or curl) while a bot runs against the emulator.
// Timed ones end by themselves.
const (
	// StormFor is how long a 429 storm lasts: every sending call is
	// answered 429 with retry_after StormRetryAfter.
	StormFor        = 20 * time.Second
	StormRetryAfter = 3
	// AwayFor is how long "Telegram away" lasts: every call, getUpdates
	// and getMe included, has its connection closed without an answer.
	AwayFor = 30 * time.Second
	// ChaosErrorRate is the share of sending calls answered 500/502
	// while "errors" is on.
	ChaosErrorRate = 0.2
	// ChaosSlowMin and ChaosSlowMax bound the latency of every call but
	// getUpdates while "slow" is on.
	ChaosSlowMin = 700 * time.Millisecond
	ChaosSlowMax = 2500 * time.Millisecond
)

// Chaos is the state of the switches; the timed ones say until when.
type Chaos struct {
	StormUntil *time.Time `json:"storm_until,omitempty"`
	Errors     bool       `json:"errors"`
	Slow       bool       `json:"slow"`
	AwayUntil  *time.Time `json:"away_until,omitempty"`
}

// chaosState is Chaos with the timers that end it; guarded by Emulator.mu.
type chaosState struct {
	Chaos
	stormTimer, awayTimer *time.Timer
}

// ChaosRequest is the body of POST /_emu/chaos: the switches to change
// (absent ones keep their state).
type ChaosRequest struct {
	Storm  *bool `json:"storm"`
	Errors *bool `json:"errors"`
	Slow   *bool `json:"slow"`
	Away   *bool `json:"away"`
}

// Chaos returns the switches now.
func (e *Emulator) Chaos() Chaos {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.chaos.Chaos
}

// SetChaos applies a request and returns the switches after it.
func (e *Emulator) SetChaos(r ChaosRequest) Chaos {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := &e.chaos
	now := time.Now()
	if r.Storm != nil {
		if c.stormTimer != nil {
			c.stormTimer.Stop()
			c.stormTimer, c.StormUntil = nil, nil
		}
		if *r.Storm {
			until := now.Add(StormFor)
			c.StormUntil = &until
			c.stormTimer = time.AfterFunc(StormFor, func() { e.SetChaos(ChaosRequest{Storm: new(false)}) })
		}
	}
	if r.Away != nil {
		if c.awayTimer != nil {
			c.awayTimer.Stop()
			c.awayTimer, c.AwayUntil = nil, nil
		}
		if *r.Away {
			until := now.Add(AwayFor)
			c.AwayUntil = &until
			c.awayTimer = time.AfterFunc(AwayFor, func() { e.SetChaos(ChaosRequest{Away: new(false)}) })
			e.Fake.StartOutage(bottest.Outage{})
		} else {
			e.Fake.EndOutage()
		}
	}
	if r.Errors != nil {
		c.Errors = *r.Errors
	}
	if r.Slow != nil {
		c.Slow = *r.Slow
	}
	if r.Errors != nil || r.Slow != nil {
		f := e.cfg.Faults
		if c.Errors {
			f.ErrorRate = max(f.ErrorRate, ChaosErrorRate)
		}
		if c.Slow {
			f.MinLatency, f.MaxLatency = max(f.MinLatency, ChaosSlowMin), max(f.MaxLatency, ChaosSlowMax)
		}
		e.Fake.SetFaults(f)
	}
	return c.Chaos
}

// storming reports whether a 429 storm is on.
func (e *Emulator) storming() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.chaos.StormUntil != nil
}

// stormCall scripts a 429 for a sending call during a storm, so that the
// fake answers it (recorded and counted as any other answer).
func (e *Emulator) stormCall(r *http.Request, method string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 50<<20))
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	chat := chatIDOf(r.Header.Get("Content-Type"), r.URL.Query(), body)
	e.Fake.FailNext(bottest.Fault{Method: method, ChatID: chat, Status: http.StatusTooManyRequests, RetryAfter: StormRetryAfter})
}

func (e *Emulator) handleChaos(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, e.Chaos())
		return
	}
	var req ChaosRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		writeError(w, fmt.Errorf(`body: %w (e.g. {"storm":true}; switches: storm, errors, slow, away)`, err))
		return
	}
	writeJSON(w, http.StatusOK, e.SetChaos(req))
}

// isSendingPath reports whether a Bot API path names a sending method.
func sendingMethod(path string) (string, bool) {
	if !strings.HasPrefix(path, "/bot") {
		return "", false
	}
	m := path[strings.LastIndexByte(path, '/')+1:]
	return m, IsSending(m)
}
