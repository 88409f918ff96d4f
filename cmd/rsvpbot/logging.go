package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/lmittmann/tint"

	"github.com/rsvpbot/rsvpbot/bot"
)

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not debug, info, warn or error", s)
}

// newLogger builds the process logger: tint on a terminal, JSON otherwise
// (or as format says), every record scrubbed of the secrets given and of
// URL passwords, and every record's keys unique.
func newLogger(w io.Writer, format, level string, terminal bool, secrets ...string) *slog.Logger {
	lvl, _ := parseLevel(level)
	var h slog.Handler
	if format == "text" || (format == "" && terminal) {
		h = tint.NewTextHandler(w, &tint.Options{Level: lvl, TimeFormat: "15:04:05.000", NoColor: !terminal})
	} else {
		h = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})
	}
	return slog.New(&cleanHandler{next: h, red: bot.NewRedactor(secrets...), frames: []frame{{}}})
}

// cleanHandler sits in front of the output handler and makes every record
// fit to print:
//
//   - secrets are removed from the message and every attribute, whatever
//     code logged it (bot.Redactor decides what a secret is): an error
//     string quoting an API URL is the usual way a token leaks into logs;
//   - keys are unique. slog's handlers print every attribute they are
//     given, so a logger tagged With("component", "sender") that a package
//     tags again With("component", "outbox") printed "component" twice, and
//     JSON with a repeated key is read differently by every consumer. Here a
//     later attribute replaces an earlier one with the same key (the
//     innermost With, then the record's own attributes, win), and an
//     attribute named like a built-in key (time, level, msg, source) is
//     renamed with a trailing "_".
//
// To do that it keeps With attributes and groups itself (frames) instead of
// handing them to next, and gives next a complete record each time.
type cleanHandler struct {
	next   slog.Handler
	red    *bot.Redactor
	frames []frame // frames[0] is the top level; each further one a WithGroup
}

// frame is one group level: its name and the attributes added with With
// while it was the innermost group.
type frame struct {
	group string
	attrs []slog.Attr
}

func (h *cleanHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *cleanHandler) Handle(ctx context.Context, r slog.Record) error {
	// Innermost level first: its With attributes, then the record's.
	last := h.frames[len(h.frames)-1]
	level := append([]slog.Attr(nil), last.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		level = append(level, h.attr(a))
		return true
	})
	level = unique(level)
	for i := len(h.frames) - 1; i > 0; i-- {
		outer := append([]slog.Attr(nil), h.frames[i-1].attrs...)
		if len(level) > 0 { // slog omits empty groups
			outer = append(outer, slog.Attr{Key: h.frames[i].group, Value: slog.GroupValue(level...)})
		}
		level = unique(outer)
	}
	for i, a := range level {
		switch a.Key {
		case slog.TimeKey, slog.LevelKey, slog.MessageKey, slog.SourceKey:
			level[i].Key += "_"
		}
	}
	out := slog.NewRecord(r.Time, r.Level, h.red.String(r.Message), r.PC)
	out.AddAttrs(unique(level)...)
	return h.next.Handle(ctx, out)
}

func (h *cleanHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	frames := append([]frame(nil), h.frames...)
	last := &frames[len(frames)-1]
	attrs := append([]slog.Attr(nil), last.attrs...)
	for _, a := range as {
		attrs = append(attrs, h.attr(a))
	}
	last.attrs = unique(attrs)
	return &cleanHandler{next: h.next, red: h.red, frames: frames}
}

func (h *cleanHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	frames := append(append([]frame(nil), h.frames...), frame{group: name})
	return &cleanHandler{next: h.next, red: h.red, frames: frames}
}

// attr resolves a and scrubs its text.
func (h *cleanHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.red.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		clean := make([]slog.Attr, len(g))
		for i, ga := range g {
			clean[i] = h.attr(ga)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(clean...)}
	case slog.KindAny:
		// errors, Stringers and structs are rendered to text here so the
		// text can be scrubbed; the handler would otherwise render them later.
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.red.String(err.Error()))
		}
		return slog.String(a.Key, h.red.String(fmt.Sprint(v.Any())))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// unique returns attrs with groups without a key inlined, empty attributes
// and empty groups dropped (as slog does), and one attribute per key: the
// last one given, at the place of the first. Groups are made unique inside
// too.
func unique(attrs []slog.Attr) []slog.Attr {
	var flat []slog.Attr
	var add func(as []slog.Attr)
	add = func(as []slog.Attr) {
		for _, a := range as {
			switch {
			case a.Value.Kind() == slog.KindGroup && a.Key == "":
				add(a.Value.Group())
			case a.Value.Kind() == slog.KindGroup:
				if g := unique(a.Value.Group()); len(g) > 0 {
					flat = append(flat, slog.Attr{Key: a.Key, Value: slog.GroupValue(g...)})
				}
			case a.Equal(slog.Attr{}):
			default:
				flat = append(flat, a)
			}
		}
	}
	add(attrs)
	at := make(map[string]int, len(flat))
	out := flat[:0:0]
	for _, a := range flat {
		if i, seen := at[a.Key]; seen {
			out[i] = a
			continue
		}
		at[a.Key] = len(out)
		out = append(out, a)
	}
	return out
}
