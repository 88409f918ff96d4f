package bot

import (
	"regexp"
)

// Redactor scrubs secrets from text on its way to a log or an error
// message: the secrets it was given (the bot token through Redact, the
// API token, the webhook secret) and the password of any URL with
// credentials (scheme://user:password@host), whatever URL it is. It is the
// one place that decides what a secret looks like in text; the process
// logger runs every record through it.
type Redactor struct {
	secrets []string
}

// NewRedactor returns a Redactor for secrets; empty ones are ignored.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	return r
}

// String returns s without the secrets and without URL passwords.
func (r *Redactor) String(s string) string {
	if r != nil {
		for _, sec := range r.secrets {
			s = Redact(s, sec)
		}
	}
	return RedactURLPasswords(s)
}

// urlCredentials matches the authority of a URL that carries a password:
// the scheme and user (group 1), then the password up to the last '@'
// before the host. A password may hold an unescaped '@', so the match is
// greedy up to a character that cannot be in an authority.
var urlCredentials = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.\-]*://[^\s/?#@:"'<>\\]*):[^\s/?#"'<>\\]*@`)

// RedactURLPasswords replaces the password of every URL in s with "xxxxx",
// as url.URL.Redacted does, keeping the user name (which says whose
// credentials they are) and the rest of the URL.
func RedactURLPasswords(s string) string {
	return urlCredentials.ReplaceAllString(s, "${1}:xxxxx@")
}
