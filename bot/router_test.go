package bot

import (
	"context"
	"testing"
	"unicode/utf8"

	"github.com/go-telegram/bot/models"
)

func TestParseCommand(t *testing.T) {
	cases := []struct{ in, cmd, args, to string }{
		{"/start", "start", "", ""},
		{"/Event Board games | tomorrow", "event", "Board games | tomorrow", ""},
		{"/HELP@RsvpBot", "help", "", "RsvpBot"},
		{"/event@rsvp_bot   x  ", "event", "x", "rsvp_bot"},
		{"/event\nline two", "event", "line two", ""},
		{"hello /start", "", "", ""},
		{"/", "", "", ""},
		{"/usr/bin", "", "", ""},
		{"/привет", "", "", ""},
	}
	for _, c := range cases {
		cmd, args, to := parseCommand(c.in)
		if cmd != c.cmd || args != c.args || to != c.to {
			t.Errorf("%q: got (%q,%q,%q) want (%q,%q,%q)", c.in, cmd, args, to, c.cmd, c.args, c.to)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"/start", "/Event@Bot a|b", "/x\ny", "", "/", "/@", "/a@b@c d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cmd, args, _ := parseCommand(s)
		if cmd == "" && args != "" {
			t.Fatalf("args without command for %q", s)
		}
		if len(cmd) > 32 || !utf8.ValidString(cmd) {
			t.Fatalf("bad command %q", cmd)
		}
		for _, r := range cmd {
			if r >= 'A' && r <= 'Z' {
				t.Fatalf("command not lower-cased: %q", cmd)
			}
		}
	})
}

func TestRouterRoutes(t *testing.T) {
	r := NewRouter("RsvpBot")
	var hit string
	r.Command("event", func(ctx context.Context, u *Update) error { hit = "event:" + u.Args; return nil })
	r.Callback("rsvp", func(ctx context.Context, u *Update) error { hit = "cb:" + u.CallbackQuery.Data; return nil })
	r.Text(func(ctx context.Context, u *Update) error { hit = "text"; return nil })
	r.Unknown(func(ctx context.Context, u *Update) error { hit = "unknown:" + u.Command; return nil })
	r.MyChatMember(func(ctx context.Context, u *Update) error { hit = "member"; return nil })
	msg := func(text string) *Update {
		return &Update{Update: &models.Update{Message: &models.Message{Text: text, Chat: models.Chat{ID: -1, Type: "group"}}}}
	}
	cases := []struct {
		u    *Update
		want string
	}{
		{msg("/EVENT x"), "event:x"},
		{msg("/event@rsvpbot y"), "event:y"},
		{msg("/event@OtherBot z"), ""},
		{msg("/nope"), "unknown:nope"},
		{msg("just chatting"), "text"},
		{&Update{Update: &models.Update{CallbackQuery: &models.CallbackQuery{Data: "rsvp:1:go"}}}, "cb:rsvp:1:go"},
		{&Update{Update: &models.Update{CallbackQuery: &models.CallbackQuery{Data: "gone:1"}}}, "unknown:"},
		{&Update{Update: &models.Update{MyChatMember: &models.ChatMemberUpdated{}}}, "member"},
	}
	for _, c := range cases {
		hit = ""
		if err := r.Route(context.Background(), c.u); err != nil {
			t.Fatal(err)
		}
		if hit != c.want {
			t.Errorf("routed to %q, want %q", hit, c.want)
		}
	}
}
