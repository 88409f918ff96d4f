package ops_test

import (
	"bufio"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPostMessageRefusesHTMLTelegramWouldRefuse: HTML that Telegram would
// refuse ("can't parse entities") is answered 400 naming the problem
// instead of 202 and a dead letter later; what Telegram accepts passes.
func TestPostMessageRefusesHTMLTelegramWouldRefuse(t *testing.T) {
	e := newEnv(t, envOptions{})
	addChat(t, e.db, 42, true, "")
	for _, tc := range []struct{ text, want string }{
		{`a < b`, `can't parse entities: Unsupported start tag "" at byte offset 2`},
		{`<b>open`, `Can't find end tag corresponding to start tag "b"`},
		{`<b>x</i>`, `Unmatched end tag at byte offset 4, expected "</b>", found "</i>"`},
		{`x</b>`, `Unexpected end tag at byte offset 1`},
		{`<blink>x</blink>`, `Unsupported start tag "blink"`},
		{`<span>x</span>`, `Tag "span" must have class "tg-spoiler"`},
		{`<b> </b>`, `empty once its HTML tags are removed`},
	} {
		r := e.post("/v1/messages", `{"chat_id": 42, "parse_mode": "HTML", "text": "`+strings.ReplaceAll(tc.text, `"`, `\"`)+`"}`)
		er := r.apiError(t)
		if msg, _ := er["message"].(string); r.status != http.StatusBadRequest || er["field"] != "text" || !strings.Contains(msg, tc.want) {
			t.Errorf("%q: %d %s; want 400 naming %s", tc.text, r.status, r.body, tc.want)
		}
	}
	for _, text := range []string{`Tom & Jerry > cats`, `a &lt; b`, `<b>Doors</b> open at <i>7</i> <a href=\"https://x.test/?a=1&amp;b=2\">map</a>`,
		`<blockquote expandable>q</blockquote>`} {
		if r := e.post("/v1/messages", `{"chat_id": 42, "parse_mode": "HTML", "text": "`+text+`"}`); r.status != http.StatusAccepted {
			t.Errorf("%q: %d %s", text, r.status, r.body)
		}
	}
	// Without parse_mode the same characters are plain text.
	if r := e.post("/v1/messages", `{"chat_id": 42, "text": "a < b"}`); r.status != http.StatusAccepted {
		t.Errorf("plain a < b: %d %s", r.status, r.body)
	}
	if n := count(t, e.db, `SELECT count(*) FROM outbox`); n != 5 {
		t.Errorf("%d messages queued, want 5", n)
	}
}

// TestPostMessageContentType: a JSON body without Content-Type is read as
// JSON; an explicit type that is not JSON is refused 415 with the fix.
func TestPostMessageContentType(t *testing.T) {
	e := newEnv(t, envOptions{})
	addChat(t, e.db, 42, true, "")
	if r := e.do(http.MethodPost, "/v1/messages", testToken, strings.NewReader(`{"chat_id": 42, "text": "hi"}`)); r.status != http.StatusAccepted {
		t.Errorf("no Content-Type: %d %s", r.status, r.body)
	}
	r := e.do(http.MethodPost, "/v1/messages", testToken, strings.NewReader(`{"chat_id": 42, "text": "hi"}`),
		"Content-Type", "application/x-www-form-urlencoded")
	if r.status != http.StatusUnsupportedMediaType || !strings.Contains(string(r.body), "Content-Type: application/json") {
		t.Errorf("form Content-Type: %d %s", r.status, r.body)
	}
}

// TestReadmeCurlExample takes the message API's curl command from
// README.md as written and makes its request against the real API: what an
// operator copies must answer 202. The command is read the way a shell and
// curl read it (quotes, $RSVPBOT_API_TOKEN, -H, -d setting POST and curl's
// default form Content-Type); an option this reading does not know fails
// the test, so the README cannot drift from what is tested.
func TestReadmeCurlExample(t *testing.T) {
	e := newEnv(t, envOptions{})
	addChat(t, e.db, -1001234567890, true, "")

	cmd := readmeCurl(t)
	words := shellWords(t, cmd, map[string]string{"RSVPBOT_API_TOKEN": testToken})
	req := curlRequest(t, words, e.srv.URL)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("README command %s answered %d (Content-Type %q)", cmd, resp.StatusCode, req.Header.Get("Content-Type"))
	}

	// The real curl, through a shell, when the machine has one.
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Log("curl is not installed: the command was checked through the Go reading above only")
		return
	}
	u, _ := url.Parse(e.srv.URL)
	line := strings.Replace(cmd, "127.0.0.1:8080", u.Host, 1)
	line = strings.Replace(line, "curl ", curl+" -sS -o /dev/null -w '%{http_code}' -H 'Idempotency-Key: real-curl' ", 1)
	line = strings.Replace(line, `-H "Idempotency-Key: news-42" `, "", 1)
	sh := exec.Command("sh", "-c", line)
	sh.Env = append(os.Environ(), "RSVPBOT_API_TOKEN="+testToken)
	out, err := sh.CombinedOutput()
	if err != nil || string(out) != "202" {
		t.Errorf("real curl: %s (%v)", out, err)
	}
}

// readmeCurl returns the README's curl command for POST /v1/messages.
func readmeCurl(t *testing.T) string {
	t.Helper()
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, "`curl ")
		if i < 0 || !strings.Contains(line, "/v1/messages") {
			continue
		}
		cmd, _, ok := strings.Cut(line[i+1:], "`")
		if !ok {
			t.Fatalf("README: unterminated code span: %s", line)
		}
		return cmd
	}
	t.Fatal("README.md has no curl example for /v1/messages")
	return ""
}

// shellWords splits a command as sh does for the quoting the README uses:
// '…' literal, "…" with $VAR expanded, bare words with $VAR expanded.
func shellWords(t *testing.T, s string, vars map[string]string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord := false
	expand := func(i int) int { // s[i] == '$'
		j := i + 1
		for j < len(s) && (s[j] == '_' || 'A' <= s[j] && s[j] <= 'Z' || 'a' <= s[j] && s[j] <= 'z' || '0' <= s[j] && s[j] <= '9') {
			j++
		}
		v, ok := vars[s[i+1:j]]
		if !ok {
			t.Fatalf("README command uses $%s, which the test does not know", s[i+1:j])
		}
		cur.WriteString(v)
		return j
	}
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
			i++
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				t.Fatalf("unterminated ' in %s", s)
			}
			cur.WriteString(s[i+1 : i+1+end])
			i, inWord = i+end+2, true
		case c == '"':
			i, inWord = i+1, true
			for ; i < len(s) && s[i] != '"'; i++ {
				switch s[i] {
				case '$':
					i = expand(i) - 1
				case '\\':
					i++
					cur.WriteByte(s[i])
				default:
					cur.WriteByte(s[i])
				}
			}
			if i >= len(s) {
				t.Fatalf(`unterminated " in %s`, s)
			}
			i++
		case c == '$':
			i, inWord = expand(i), true
		case c == '\\' || c == ';' || c == '|' || c == '&' || c == '<' || c == '>' || c == '`':
			t.Fatalf("README command uses %q, which this reading does not handle: %s", c, s)
		default:
			cur.WriteByte(c)
			i, inWord = i+1, true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// curlRequest builds the request curl would make from its arguments,
// sent to base instead of the command's host.
func curlRequest(t *testing.T, args []string, base string) *http.Request {
	t.Helper()
	if len(args) == 0 || args[0] != "curl" {
		t.Fatalf("not a curl command: %q", args)
	}
	header := http.Header{}
	var method, data, target string
	hasData := false
	for i := 1; i < len(args); i++ {
		a := args[i]
		val := func() string {
			if i+1 >= len(args) {
				t.Fatalf("curl %s without a value", a)
			}
			i++
			return args[i]
		}
		switch a {
		case "-H", "--header":
			k, v, ok := strings.Cut(val(), ":")
			if !ok {
				t.Fatalf("header without a colon: %q", args[i])
			}
			header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		case "-d", "--data", "--data-raw", "--data-binary", "--data-ascii":
			if hasData {
				data += "&"
			}
			data, hasData = data+val(), true
		case "--json":
			data, hasData = data+val(), true
			header.Set("Content-Type", "application/json")
			header.Set("Accept", "application/json")
		case "-X", "--request":
			method = val()
		case "-s", "--silent", "-S", "--show-error", "-f", "--fail", "-i":
		default:
			if strings.HasPrefix(a, "-") {
				t.Fatalf("curl option %s is not understood by this test; teach it", a)
			}
			target = a
		}
	}
	if method == "" {
		method = http.MethodGet
		if hasData {
			method = http.MethodPost
		}
	}
	if hasData && header.Get("Content-Type") == "" {
		header.Set("Content-Type", "application/x-www-form-urlencoded") // curl's default for -d
	}
	if !strings.Contains(target, "://") {
		target = "http://" + target
	}
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("curl URL %q: %v", target, err)
	}
	req, err := http.NewRequest(method, base+u.RequestURI(), strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	return req
}
