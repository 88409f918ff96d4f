package handlers

// One instant per update. The dispatcher hands an update to Handle (or to
// the flood guard in front of it), which reads the clock (Deps.Now) once
// and keeps the instant in the context: every rule and every row the
// update writes then sees the same "now", as wtf stamps its Tx.now once.
// The hooks other components call inside their own transaction (OnSent,
// OnMigrated, PostOccurrence) and ExpireConversations take their instant
// the same way; elsewhere (RefreshForecasts, whose transactions wait on
// the network in between) now reads the clock for each.

import (
	"context"
	"time"
)

type instantKey struct{}

// atInstant is ctx carrying the instant its update is handled at; one the
// context already carries is kept.
func (a *App) atInstant(ctx context.Context) context.Context {
	if _, ok := ctx.Value(instantKey{}).(time.Time); ok {
		return ctx
	}
	return context.WithValue(ctx, instantKey{}, a.Now())
}

// now is the instant of the update being handled, or the clock's reading
// outside one.
func (a *App) now(ctx context.Context) time.Time {
	if t, ok := ctx.Value(instantKey{}).(time.Time); ok {
		return t
	}
	return a.Now()
}
