package handlers

import (
	"context"
	"errors"
	"testing"
)

// The permission rules on their own: who may administer a chat and who may
// manage what someone organized, who is decided without asking Telegram,
// and that a failed lookup is an error, never an answer.
func TestPermissionRules(t *testing.T) {
	const (
		group     = int64(-100)
		organizer = int64(1)
		chatAdmin = int64(2)
		member    = int64(3)
		botAdmin  = int64(9)
	)
	var lookups int
	var fail bool
	a := &App{Deps: Deps{Admins: []int64{botAdmin}, ChatAdmins: func(_ context.Context, chatID int64) ([]int64, error) {
		lookups++
		if fail {
			return nil, errors.New("telegram: 502 Bad Gateway")
		}
		if chatID != group {
			t.Errorf("admins of chat %d asked", chatID)
		}
		return []int64{chatAdmin}, nil
	}}}
	ctx := context.Background()
	type answer struct{ ok, err bool }
	yes, no, failed := answer{ok: true}, answer{}, answer{err: true}
	for _, c := range []struct {
		name       string
		chat, user int64
		// with Telegram answering, then with its lookup failing
		administer, organize             answer
		administerFailed, organizeFailed answer
		lookups                          int // with Telegram answering
	}{
		{"organizer", group, organizer, no, yes, failed, yes, 1},
		{"chat admin", group, chatAdmin, yes, yes, failed, failed, 2},
		{"member", group, member, no, no, failed, failed, 2},
		{"bot admin", group, botAdmin, yes, yes, yes, yes, 0},
		{"their own private chat", member, member, yes, yes, yes, yes, 0},
	} {
		for _, failing := range []bool{false, true} {
			fail, lookups = failing, 0
			ok, err := a.mayAdministerChat(ctx, c.chat, c.user)
			gotA := answer{ok, err != nil}
			ok, err = a.mayOrganize(ctx, c.chat, organizer, c.user)
			gotO := answer{ok, err != nil}
			wantA, wantO := c.administer, c.organize
			if failing {
				wantA, wantO = c.administerFailed, c.organizeFailed
			}
			if gotA != wantA || gotO != wantO {
				t.Errorf("%s (lookup failing: %v): administer %+v organize %+v, want %+v and %+v",
					c.name, failing, gotA, gotO, wantA, wantO)
			}
			if !failing && lookups != c.lookups {
				t.Errorf("%s: Telegram asked %d times, want %d", c.name, lookups, c.lookups)
			}
		}
	}

	// Without a way to ask Telegram, only the rules that need no lookup
	// say yes.
	a.ChatAdmins = nil
	if ok, err := a.mayAdministerChat(ctx, group, chatAdmin); ok || err != nil {
		t.Errorf("no lookup: a chat admin administers: %v, %v", ok, err)
	}
}
