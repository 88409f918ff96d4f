package bot

import (
	"net/url"
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	r := NewRedactor("123:tokenSecretPart", "", "api-token-0123456789")
	in := `Post "https://u:pw@x/bot123:tokenSecretPart/getMe" and tokenSecretPart, Bearer api-token-0123456789, ` +
		`postgres://me:p@ss:w@rd@db.example:5432/x, http://nopass@h/, mailto:a@b`
	got := r.String(in)
	for _, leak := range []string{"tokenSecretPart", "api-token-0123456789", ":pw@", "p@ss", "w@rd"} {
		if strings.Contains(got, leak) {
			t.Errorf("%q leaked: %s", leak, got)
		}
	}
	for _, keep := range []string{"https://u:xxxxx@x/bot", "postgres://me:xxxxx@db.example:5432/x", "http://nopass@h/", "mailto:a@b"} {
		if !strings.Contains(got, keep) {
			t.Errorf("%q missing: %s", keep, got)
		}
	}
	if (*Redactor)(nil).String("http://a:b@c/") != "http://a:xxxxx@c/" {
		t.Error("a nil Redactor still scrubs URL passwords")
	}
}

// FuzzRedactURLPasswords: for any user and password, a URL's text
// redacted is what url.URL.Redacted gives, so no password survives.
func FuzzRedactURLPasswords(f *testing.F) {
	f.Add("user", "pass", "example.org:8080")
	f.Add("a b", "p@ss:w/rd?#", "127.0.0.1")
	f.Add("", "x", "h")
	f.Fuzz(func(t *testing.T, user, pass, host string) {
		if host == "" || strings.Trim(host, "abcdefghijklmnopqrstuvwxyz0123456789.-:") != "" {
			return
		}
		u := &url.URL{Scheme: "https", User: url.UserPassword(user, pass), Host: host, Path: "/bot/x"}
		if got, want := RedactURLPasswords("call "+u.String()+": refused"), "call "+u.Redacted()+": refused"; got != want {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
}
