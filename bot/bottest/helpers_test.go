package bottest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/internal/clocktest"
)

var (
	alice = models.User{ID: 1001, FirstName: "Alice", Username: "alice", LanguageCode: "en"}
	bob   = models.User{ID: 1002, FirstName: "Bob", LanguageCode: "de"}
	group = bottest.Group(-4001, "Board games")
)

// newServer starts a server that is closed when the test ends.
func newServer(t *testing.T, opts ...bottest.Option) *bottest.Server {
	t.Helper()
	s := bottest.NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// newBot is the real client pointed at the fake.
func newBot(t *testing.T, s *bottest.Server, opts ...bot.Option) *bot.Bot {
	t.Helper()
	opts = append([]bot.Option{bot.WithServerURL(s.URL), bot.WithSkipGetMe(),
		bot.WithErrorsHandler(func(err error) { t.Logf("bot error: %v", err) })}, opts...)
	b, err := bot.New(s.Token, opts...)
	if err != nil {
		t.Fatalf("bot.New: %v", err)
	}
	return b
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// apiAnswer is the Bot API envelope as a raw client sees it.
type apiAnswer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// rawPost sends a body to /bot<token>/<method> and decodes the answer.
func rawPost(t *testing.T, url, contentType, body string) (int, apiAnswer) {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	var a apiAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("decode answer of %s: %v", url, err)
	}
	if a.OK != (resp.StatusCode == 200) || (!a.OK && a.ErrorCode != resp.StatusCode) {
		t.Fatalf("inconsistent answer: HTTP %d, %+v", resp.StatusCode, a)
	}
	return resp.StatusCode, a
}

// callJSON calls a method with a JSON body, as the project's own poller does.
func callJSON(t *testing.T, s *bottest.Server, method string, params any) (int, apiAnswer) {
	t.Helper()
	body, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	return rawPost(t, s.URL+"/bot"+s.Token+"/"+method, "application/json", string(body))
}

// getUpdates polls with a JSON body and decodes the updates.
func getUpdates(t *testing.T, s *bottest.Server, params map[string]any) []models.Update {
	t.Helper()
	ups, a, err := poll(s, params)
	if err != nil || !a.OK {
		t.Fatalf("getUpdates: %v %+v", err, a)
	}
	return ups
}

// poll is getUpdates for goroutines, which must not call t.Fatal.
func poll(s *bottest.Server, params map[string]any) ([]models.Update, apiAnswer, error) {
	body, _ := json.Marshal(params)
	resp, err := http.Post(s.URL+"/bot"+s.Token+"/getUpdates", "application/json", strings.NewReader(string(body)))
	if err != nil {
		return nil, apiAnswer{}, err
	}
	defer resp.Body.Close()
	var a apiAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return nil, a, err
	}
	var ups []models.Update
	if a.OK {
		err = json.Unmarshal(a.Result, &ups)
	}
	return ups, a, err
}

func updateIDs(ups []models.Update) []int64 {
	ids := []int64{}
	for _, u := range ups {
		ids = append(ids, u.ID)
	}
	return ids
}

// newFakeClock is a manual clock for WithClock.
func newFakeClock() *clocktest.Clock {
	return clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

// inlineKeyboard is a row of callback buttons as raw JSON: the library's
// InlineKeyboardButton would add "copy_text":{"text":""} to each, which
// the fake refuses as Telegram's spec does.
func inlineKeyboard(data ...string) json.RawMessage {
	type button struct {
		Text         string `json:"text"`
		CallbackData string `json:"callback_data"`
	}
	row := []button{}
	for _, d := range data {
		row = append(row, button{Text: strings.ToUpper(d), CallbackData: d})
	}
	raw, _ := json.Marshal(map[string]any{"inline_keyboard": [][]button{row}})
	return raw
}
