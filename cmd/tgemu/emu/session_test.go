package emu

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

// apiResult is a Bot API answer; HTTPStatus 0 means no answer.
type apiResult struct {
	HTTPStatus  int
	ErrorCode   int    `json:"error_code"`
	Description string `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// call makes a Bot API call with a JSON body.
func call(t *testing.T, srv string, method, params string) apiResult {
	t.Helper()
	var res apiResult
	resp, err := http.Post(srv+"/bot"+DefaultConfig().Token+"/"+method, "application/json", strings.NewReader(params))
	if err != nil {
		return res
	}
	defer resp.Body.Close()
	res.HTTPStatus = resp.StatusCode
	_ = json.NewDecoder(resp.Body).Decode(&res)
	return res
}

// The menu follows Telegram's scope order: a chat's own list wins over the
// default, a language's list over the list for all languages, and group
// admin scopes reach only admins.
func TestMenuFollowsScopesAndLanguage(t *testing.T) {
	e, srv := newTestEmu(t, DefaultConfig())
	set := func(params string) {
		t.Helper()
		if res := call(t, srv.URL, "setMyCommands", params); res.ErrorCode != 0 {
			t.Fatalf("setMyCommands %s: %+v", params, res)
		}
	}
	set(`{"commands":[{"command":"help","description":"Help"}]}`)
	set(`{"commands":[{"command":"help","description":"Помощь"}],"language_code":"ru"}`)
	set(`{"commands":[{"command":"help","description":"Help"},{"command":"stats","description":"Stats"}],"scope":{"type":"chat","chat_id":7}}`)
	set(`{"commands":[{"command":"ban","description":"Ban"}],"scope":{"type":"all_chat_administrators"}}`)
	post(t, srv.URL+"/_emu/admin?chat=-4001&user=7", "")
	for _, tc := range []struct {
		chat, user int64
		lang, want string
	}{
		{8, 8, "en", "help:Help"},
		{8, 8, "ru", "help:Помощь"},
		{8, 8, "de", "help:Help"},
		{7, 7, "ru", "help:Help stats:Stats"}, // the chat scope has no Russian list: its list for all languages
		{-4001, 7, "en", "ban:Ban"},
		{-4001, 8, "en", "help:Help"},
	} {
		var got []string
		for _, c := range e.Menu(tc.chat, tc.user, tc.lang) {
			got = append(got, c.Command+":"+c.Description)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("menu of %d in %d (%s): %v, want %s", tc.user, tc.chat, tc.lang, got, tc.want)
		}
	}
	if m := get(t, srv.URL+"/_emu/menu?chat=8&user=8&lang=ru"); !strings.Contains(m, "Помощь") {
		t.Fatalf("GET /_emu/menu: %s", m)
	}
}

// A file the bot sent downloads with its name; a callback's answer is
// waited for; /_emu/wait returns at the next change.
func TestFilesCallbacksAndWait(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BotUsername, cfg.BotName, cfg.FirstUpdateID = "party_bot", "Party", 500
	e, srv := newTestEmu(t, cfg)
	if b := get(t, srv.URL+"/_emu/bot"); !strings.Contains(b, `"party_bot"`) || !strings.Contains(b, `"Party"`) {
		t.Fatalf("bot: %s", b)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("chat_id", "42")
	fw, _ := mw.CreateFormFile("document", "event-1.ics")
	fw.Write([]byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"))
	mw.Close()
	resp, err := http.Post(srv.URL+"/bot"+cfg.Token+"/sendDocument", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	var sent struct {
		Result struct {
			Document struct {
				FileID string `json:"file_id"`
			} `json:"document"`
		} `json:"result"`
	}
	json.NewDecoder(resp.Body).Decode(&sent)
	resp.Body.Close()
	resp, err = http.Get(srv.URL + "/_emu/file?id=" + sent.Result.Document.FileID)
	if err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	file.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(resp.Header.Get("Content-Disposition"), `filename=event-1.ics`) || !strings.HasPrefix(file.String(), "BEGIN:VCALENDAR") {
		t.Fatalf("download: %q %q", resp.Header.Get("Content-Disposition"), file.String())
	}
	if resp, _ := http.Get(srv.URL + "/_emu/file?id=nope"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown file: %s", resp.Status)
	}

	var u struct {
		UpdateID      int64 `json:"update_id"`
		CallbackQuery struct {
			ID string `json:"id"`
		} `json:"callback_query"`
	}
	json.Unmarshal([]byte(post(t, srv.URL+"/_emu/push", `{"from":{"id":42},"kind":"callback","message_id":1,"data":"x"}`)), &u)
	if u.UpdateID != 500 {
		t.Fatalf("first update id %d, want 500", u.UpdateID)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		call(t, srv.URL, "answerCallbackQuery", `{"callback_query_id":"`+u.CallbackQuery.ID+`","text":"Done","show_alert":true}`)
	}()
	var a CallbackAnswer
	json.Unmarshal([]byte(get(t, srv.URL+"/_emu/callback?id="+u.CallbackQuery.ID)), &a)
	if !a.Answered || a.Text != "Done" || !a.ShowAlert {
		t.Fatalf("callback answer %+v", a)
	}

	changed := make(chan string, 1)
	go func() { changed <- get(t, srv.URL+"/_emu/wait?wait=10s") }()
	time.Sleep(50 * time.Millisecond)
	user := models.User{ID: 42, FirstName: "Ann"}
	e.Fake.PushMessage(bottest.PrivateChat(user), user, "hi")
	select {
	case got := <-changed:
		if !strings.Contains(got, `"changed": true`) {
			t.Fatalf("wait: %s", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("/_emu/wait did not return at a push")
	}
}

// Chaos: a storm answers sends 429 with retry_after, errors and slowness
// change the faults, away drops every call; each ends when switched off.
func TestChaosSwitches(t *testing.T) {
	e, srv := newTestEmu(t, DefaultConfig())
	post(t, srv.URL+"/_emu/chaos", `{"storm":true}`)
	if res := call(t, srv.URL, "sendMessage", `{"chat_id":42,"text":"hi"}`); res.ErrorCode != 429 || res.Parameters.RetryAfter != StormRetryAfter {
		t.Fatalf("during a storm: %+v", res)
	}
	if res := call(t, srv.URL, "getMe", `{}`); res.ErrorCode != 0 {
		t.Fatalf("a storm limits sends only: %+v", res)
	}
	var c Chaos
	json.Unmarshal([]byte(post(t, srv.URL+"/_emu/chaos", `{"storm":false,"errors":true,"slow":true}`)), &c)
	if c.StormUntil != nil || !c.Errors || !c.Slow {
		t.Fatalf("chaos %+v", c)
	}
	if res := call(t, srv.URL, "sendMessage", `{"chat_id":42,"text":"hi"}`); res.ErrorCode != 0 {
		t.Fatalf("after the storm: %+v", res)
	}
	e.SetChaos(ChaosRequest{Errors: new(false), Slow: new(false), Away: new(true)})
	if res := call(t, srv.URL, "getMe", `{}`); res.HTTPStatus != 0 {
		t.Fatalf("away: getMe answered %+v", res)
	}
	if c := e.Chaos(); c.AwayUntil == nil || c.Errors || c.Slow {
		t.Fatalf("chaos %+v", c)
	}
	e.SetChaos(ChaosRequest{Away: new(false)})
	if res := call(t, srv.URL, "getMe", `{}`); res.HTTPStatus != 200 {
		t.Fatalf("back: %+v", res)
	}
	if body := post(t, srv.URL+"/_emu/chaos", `nonsense`); !strings.Contains(body, "storm") {
		t.Fatalf("a bad body should name the switches: %s", body)
	}
}
