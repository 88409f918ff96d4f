package handlers

import (
	"context"
	"errors"
	"testing"
)

// The permission rules on their own: who may administer a chat and who may
// manage what someone organized, which of them ask Telegram, and that a
// failed lookup is an error rather than an answer.
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
	for _, c := range []struct {
		name          string
		chat, user    int64
		administer    bool
		organize      bool
		asksTelegram  bool
		failedIsError bool
	}{
		{"organizer", group, organizer, false, true, true, false},
		{"chat admin", group, chatAdmin, true, true, true, true},
		{"member", group, member, false, false, true, true},
		{"bot admin", group, botAdmin, true, true, false, false},
		{"own private chat", member, member, true, true, false, false},
	} {
		for _, failing := range []bool{false, true} {
			fail, lookups = failing, 0
			admin, errA := a.mayAdministerChat(ctx, c.chat, c.user)
			org, errO := a.mayOrganize(ctx, c.chat, organizer, c.user)
			if failing && c.failedIsError {
				if errO == nil || org {
					t.Errorf("%s, lookup failing: mayOrganize = %v, %v; want an error", c.name, org, errO)
				}
				if errA == nil || admin {
					t.Errorf("%s, lookup failing: mayAdministerChat = %v, %v; want an error", c.name, admin, errA)
				}
				continue
			}
			if errO != nil {
				t.Errorf("%s (lookup failing %v): mayOrganize: %v", c.name, failing, errO)
			}
			if org != c.organize {
				t.Errorf("%s (lookup failing %v): mayOrganize = %v, want %v", c.name, failing, org, c.organize)
			}
			// The organizer administers nothing by organizing: that one
			// answer needs the lookup, which may fail.
			if errA != nil && !(failing && c.user == organizer) {
				t.Errorf("%s (lookup failing %v): mayAdministerChat: %v", c.name, failing, errA)
			}
			if errA == nil && admin != c.administer {
				t.Errorf("%s (lookup failing %v): mayAdministerChat = %v, want %v", c.name, failing, admin, c.administer)
			}
			if !c.asksTelegram && lookups != 0 {
				t.Errorf("%s: asked Telegram %d times", c.name, lookups)
			}
		}
	}

	// Without a way to ask Telegram, only the cheap rules say yes.
	a.ChatAdmins = nil
	if ok, err := a.mayAdministerChat(ctx, group, chatAdmin); ok || err != nil {
		t.Errorf("no lookup: chat admin administers: %v, %v", ok, err)
	}
}
