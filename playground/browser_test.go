package playground

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The browser tests drive Debian's Chromium (headless) through chromedp
// against a real playground: the page, its event stream, the emulator and
// the bot as a child process.
//
// Without a browser they skip, saying how to enable them; with
// RSVPBOT_BROWSER_TESTS=require (as .ci/run sets) a missing browser fails.
// RSVPBOT_SCREENSHOT=docs/playground.png (make screenshots) saves the page
// mid-conversation.

// findBrowser returns the Chromium or Chrome binary, or "".
func findBrowser() string {
	if p := os.Getenv("RSVPBOT_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser opens a headless browser tab; it skips (or fails, if required)
// without one.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := findBrowser()
	if path == "" {
		if os.Getenv("RSVPBOT_BROWSER_TESTS") == "require" {
			t.Fatal("RSVPBOT_BROWSER_TESTS=require but no Chromium found (apt-get install chromium, or set RSVPBOT_CHROME)")
		}
		t.Skip("browser tests skipped: no Chromium found; install it (apt-get install chromium) to run them, " +
			"and set RSVPBOT_BROWSER_TESTS=require to make a missing browser a failure")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1400, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// openPage starts a playground (mutate adjusts its Config) and opens its
// page in a browser tab.
func openPage(t *testing.T, mutate func(*Config)) (page, *session) {
	t.Helper()
	ctx := browser(t)
	s := startPlayground(t, mutate)
	p := page{t: t, ctx: ctx}
	p.do("opening the page", chromedp.Navigate(s.url))
	return p, s
}

// page wraps a tab on the playground with the few gestures the tests need.
type page struct {
	t   *testing.T
	ctx context.Context
}

func (p page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// click presses the element sel finds. The page re-renders a chat when
// an update arrives (SSE), which can replace a node between finding and
// clicking it; a press on a replaced node is tried again on the new one.
func (p page) click(what, sel string) {
	p.t.Helper()
	var err error
	for range 5 {
		if err = chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS(sel))); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.t.Fatalf("%s: %v", what, err)
}

// until waits for a JavaScript condition on the page.
func (p page) until(what, js string) {
	p.t.Helper()
	p.untilWithin(60*time.Second, what, js)
}

func (p page) untilWithin(d time.Duration, what, js string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(d),
		chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		text, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById("messages").innerText`))
		panel, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.querySelector(".panel").innerText`))
		p.t.Fatalf("waiting for %s: %v\nthe chat shows:\n%s\nthe panel shows:\n%s", what, err, text, panel)
	}
}

func (p page) eval(js string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// send types a message into the composer and presses Enter.
func (p page) send(text string) {
	p.t.Helper()
	p.do("typing "+text, chromedp.SendKeys(chromedp.CSS("#composer-input"), text+"\r"))
}

// actAs chooses who is typing, as the "you are" selector does.
func (p page) actAs(id int64) {
	p.t.Helper()
	p.eval(`(() => { const w = document.getElementById("who"); w.value = "` + strconv.FormatInt(id, 10) +
		`"; w.dispatchEvent(new Event("change")); return ""; })()`)
}

func (p page) openChat(id int64) {
	p.t.Helper()
	p.click("opening a chat", fmt.Sprintf(`.chat-item[data-chat="%d"]`, id))
	p.until("the chat to open", fmt.Sprintf(`document.querySelector('.chat-item[data-chat="%d"]').getAttribute("aria-current") === "true"`, id))
}

// lastBotText is the JavaScript for the text of the bot's last message
// in the open chat.
const lastBotText = `(() => { const m = [...document.querySelectorAll("#messages .msg.bot")]; return m.length ? m[m.length-1].innerText : ""; })()`

// TestBrowserFlow walks the story in a real browser: an event in
// the group, an RSVP by someone else seen live, /help in Russian, a kill
// -9 with a message typed while the bot is down, a deep link, the .ics.
func TestBrowserFlow(t *testing.T) {
	p, s := openPage(t, func(c *Config) { c.RestartDelay = 2 * time.Second })
	p.until("the group and the bot's welcome", `document.querySelectorAll("#messages .msg.bot").length >= 1`)
	if got := p.eval(`document.body.innerText.includes("nothing leaves this machine") ? "yes" : "no"`); got != "yes" {
		t.Fatal(`the page does not say "nothing leaves this machine"`)
	}
	p.eval(`window.notReloaded = true, ""`)

	// As Ann in the group: a one-line /event, and its card.
	p.actAs(ann.ID)
	p.send("/event Picnic | tomorrow 18:00 | Park")
	p.until("the event card", `[...document.querySelectorAll("#messages .msg.bot")].some(m => m.innerText.includes("Picnic") && m.querySelector(".kb"))`)

	// Boris presses Going; the bot's answer shows as a toast and the
	// card's count changes without a reload.
	p.actAs(boris.ID)
	p.click("pressing Going", `#messages .msg.bot button[data-data$=":go"]`)
	p.until("the answer to the press", `!document.getElementById("toast").hidden && document.getElementById("toast").textContent.length > 0`)
	p.until("the card counting Boris", `[...document.querySelectorAll("#messages .msg.bot")].some(m => m.innerText.includes("Picnic") && m.innerText.includes("Boris") && m.innerText.includes("edited"))`)
	if p.eval(`window.notReloaded ? "yes" : "no"`) != "yes" {
		t.Fatal("the page reloaded")
	}

	// Boris has no private chat with the bot yet: "Who's coming" answers
	// him with an alert, which OK (or Escape) closes.
	p.click("pressing Who's coming", `#messages .msg.bot button[data-data$=":who"]`)
	p.until("the list as an alert", `!document.getElementById("alert").hidden && document.getElementById("alert-text").textContent.includes("Boris")`)
	p.click("closing the alert", "#alert-ok")
	p.until("the alert closed", `document.getElementById("alert").hidden`)

	// The Russian person's /help is in Russian, and so is their menu.
	p.openChat(boris.ID)
	p.send("/help")
	p.until("/help in Russian", lastBotText+`.includes("Вот что я умею")`)
	p.click("opening the command menu", "#menu-button")
	p.until("the Russian command menu", `document.getElementById("menu").innerText.includes("Создать событие")`)
	p.eval(`document.getElementById("menu").hidden = true, ""`)

	// kill -9: the panel shows the bot down; a command typed meanwhile is
	// answered after the restart.
	s.waitOutboxIdle()
	p.click("pressing kill -9", "#chaos-kill")
	p.until("the bot down", `document.getElementById("bot-state").textContent === "down"`)
	p.send("/myevents")
	p.until("the restarted bot", `document.getElementById("bot-state").textContent === "running" && document.getElementById("bot-detail").textContent.includes("restarts 1")`)
	p.until("the answer to what was typed while down", `(() => { const m = [...document.querySelectorAll("#messages .msg")]; return m.length >= 2 && m[m.length-2].innerText.includes("/myevents") && m[m.length-1].classList.contains("bot"); })()`)

	// A deep link: Ann shares the event; the link opens her private chat
	// with the bot and sends /start with the payload.
	p.openChat(-4001)
	p.actAs(ann.ID)
	p.click("pressing Share", `#messages .msg.bot .kb .row:last-child button:first-child`)
	p.until("the private chat with /start ev_", `document.querySelector('.chat-item[data-chat="1001"]').getAttribute("aria-current") === "true" && [...document.querySelectorAll("#messages .msg.mine")].some(m => m.innerText.startsWith("/start ev_"))`)
	p.until("the event opened privately", `[...document.querySelectorAll("#messages .msg.bot")].some(m => m.innerText.includes("Picnic") && m.querySelector(".kb"))`)

	// Opening the link again replaces the private copy: the bot deletes
	// the old card, and the page removes it.
	first := p.eval(`document.querySelector("#messages .msg.bot .kb").closest(".msg").dataset.id`)
	p.openChat(-4001)
	p.click("pressing Share again", `#messages .msg.bot .kb .row:last-child button:first-child`)
	p.until("a new private card, the old one gone", `document.querySelector('.chat-item[data-chat="1001"]').getAttribute("aria-current") === "true" && `+
		`document.querySelectorAll("#messages .msg.mine").length >= 2 && document.querySelectorAll("#messages .msg.bot .kb").length === 1 && `+
		`document.querySelector("#messages .msg.bot .kb").closest(".msg").dataset.id !== "`+first+`" && !document.querySelector('#messages .msg[data-id="`+first+`"]')`)

	// The .ics: the calendar button sends a file, which downloads.
	p.click("pressing the calendar button", `#messages .msg.bot button[data-data$=":ics"]`)
	p.until("the calendar file", `document.querySelectorAll("#messages a.doc").length >= 1`)
	ics := p.evalAwait(`fetch(document.querySelector("#messages a.doc").href).then(r => r.text())`)
	if !strings.Contains(ics, "BEGIN:VCALENDAR") || !strings.Contains(ics, "Picnic") {
		t.Fatalf("the downloaded file is not the event's calendar file:\n%s", ics)
	}

	// Admin commands only for admins: Ann (the bot admin) sees /stats in
	// her menu, Boris (above) did not.
	p.click("opening Ann's command menu", "#menu-button")
	p.until("Ann's menu with /stats", `document.getElementById("menu").innerText.includes("/stats")`)
	p.eval(`document.getElementById("menu").hidden = true, ""`)

	// Adding a person opens their private chat; the bot answers them in
	// their language. Adding a group opens it.
	p.eval(`document.getElementById("person-name").value = "Zoe", document.getElementById("person-lang").value = "es", document.getElementById("add-person").requestSubmit(), ""`)
	p.until("Zoe's private chat", `document.getElementById("chat-title").textContent.includes("Zoe")`)
	p.send("/help")
	p.until("/help in Spanish", lastBotText+`.includes("Esto es lo que puedo hacer")`)
	p.eval(`document.getElementById("group-title").value = "Board gamers", document.getElementById("add-group").requestSubmit(), ""`)
	p.until("the new group", `document.getElementById("chat-title").textContent.includes("Board gamers")`)

	// A chaos control: Telegram 5xx on one send in five; the bot still
	// answers, and the control shows it is on until pressed again.
	p.click("switching 5xx on", "#chaos-errors")
	p.until("5xx on", `document.getElementById("chaos-errors").getAttribute("aria-pressed") === "true"`)
	p.send("/help")
	p.until("an answer despite the 5xx", lastBotText+`.includes("/event")`)
	p.click("switching 5xx off", "#chaos-errors")
	p.until("5xx off", `document.getElementById("chaos-errors").getAttribute("aria-pressed") === "false"`)

	// The screenshot for the README: the group mid-conversation, the panel
	// after the restart.
	if path := os.Getenv("RSVPBOT_SCREENSHOT"); path != "" {
		p.openChat(-4001)
		p.until("the card", `document.querySelectorAll("#messages .msg.bot .kb").length >= 1`)
		p.until("the panel", `document.querySelectorAll("#ledger li").length >= 1`)
		shot, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join("..", path) // relative to the repository, as make runs it
		}
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot written to %s", path)
	}

	p.openChat(ann.ID)
	// Telegram's formatting is shown as such (the card's title is bold);
	// what people type is text, never markup.
	p.until("the bold title", `[...document.querySelectorAll("#messages .msg.bot b")].some(b => b.textContent.includes("Picnic"))`)
	p.send(`<b>not bold</b> <img src=x onerror="window.injected=1">`)
	p.until("the typed markup shown as text", `[...document.querySelectorAll("#messages .msg.mine")].some(m => m.innerText.includes("<b>not bold</b>") && !m.querySelector("b, img"))`)
	if p.eval(`window.injected ? "yes" : "no"`) != "no" {
		t.Fatal("typed HTML ran in the page")
	}

	// Phone-sized: nothing wider than the screen, the composer reachable.
	p.do("a phone-sized window", chromedp.EmulateViewport(390, 844))
	p.until("a page as wide as the phone", `document.documentElement.scrollWidth <= window.innerWidth && document.getElementById("composer-input").getBoundingClientRect().width > 200`)

	// Reset (confirmed): the added person and group, the events and the
	// messages are gone; the bot runs again on a fresh database and
	// answers.
	p.do("a desktop window again", chromedp.EmulateViewport(1400, 900))
	p.eval(`window.confirm = () => true, ""`)
	p.click("pressing reset", "#reset")
	p.until("a fresh playground", `![...document.querySelectorAll(".chat-item")].some(b => b.innerText.includes("Zoe") || b.innerText.includes("Board gamers")) && `+
		`document.querySelectorAll(".chat-item").length >= 5 && !document.getElementById("messages").innerText.includes("Picnic")`)
	p.until("the bot running again", `document.getElementById("bot-state").textContent === "running"`)
	p.openChat(ann.ID)
	p.send("/help")
	p.answered("/help", "/event")
}

// counter is the JavaScript for the panel's counter named label, as a
// number (NaN while the bot's metrics are unknown).
func counter(label string) string {
	return `(() => { const dt = [...document.querySelectorAll("#counters dt")].find(d => d.textContent === "` + label +
		`"); return dt ? Number(dt.nextElementSibling.textContent) : NaN; })()`
}

// botAfter is the JavaScript for the texts of the bot's messages after
// the last message of the user's that contains mine, in order.
func botAfter(mine string) string {
	return `(() => { const m = [...document.querySelectorAll("#messages .msg")]; let i = m.length - 1; ` +
		`while (i >= 0 && !(m[i].classList.contains("mine") && m[i].innerText.includes(` + strconv.Quote(mine) + `))) i--; ` +
		`return i < 0 ? [] : m.slice(i + 1).filter(x => x.classList.contains("bot")).map(x => x.innerText); })()`
}

// answered waits until the bot answered the user's last message that
// contains mine with a message containing want.
func (p page) answered(mine, want string) {
	p.t.Helper()
	p.until("the answer to "+mine, botAfter(mine)+`.some(t => t.includes(`+strconv.Quote(want)+`))`)
}

// TestBrowserPanelChaosAndReminder: the pipeline panel, each chaos control
// with what the bot is then expected to do, the weather source, a script
// driving the page's session through /_emu/push, keyboard-only use, and
// the reminder demo's reminder arriving.
func TestBrowserPanelChaosAndReminder(t *testing.T) {
	p, s := openPage(t, func(c *Config) { c.DemoLead = 150 * time.Second })
	p.until("the page", `document.querySelectorAll(".chat-item").length >= 5`)
	p.openChat(ann.ID)

	// The reminder demo, first: its reminder arrives at the end. The demo
	// creates the event in the open chat and marks Ann going.
	p.click("pressing the reminder demo", "#demo-reminder")
	p.until("the demo's answer", `document.getElementById("toast").textContent.includes("its reminder arrives")`)
	p.until("the demo's card, Ann going", `[...document.querySelectorAll("#messages .msg.bot")].some(m => m.innerText.includes("Reminder demo") && m.innerText.includes("Ann") && m.querySelector(".kb"))`)

	// Keyboard only: "/he", the menu opens; ArrowDown, Enter picks /help;
	// Enter sends it.
	p.do("focusing the composer", chromedp.Focus(chromedp.CSS("#composer-input")))
	p.do("typing /he", chromedp.SendKeys(chromedp.CSS("#composer-input"), "/he"))
	p.until("the filtered menu", `!document.getElementById("menu").hidden && document.getElementById("menu").innerText.includes("/help")`)
	p.do("choosing with the keyboard", chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter))
	p.until("the command picked", `document.getElementById("composer-input").value === "/help " && document.activeElement.id === "composer-input"`)
	p.do("sending with Enter", chromedp.KeyEvent(kb.Enter))
	p.answered("/help", "/event")

	// The panel: the process, three lanes, sends against the limit on the
	// chart, the counters and the ledger.
	p.until("the panel", `document.getElementById("bot-state").textContent === "running" && document.querySelectorAll("#outbox tr").length === 3 && `+
		counter("sent (since bot start)")+` >= 2 && document.querySelectorAll("#ledger li").length >= 2`)
	p.until("the chart with the limit and a send", `document.querySelector("#chart line") && document.getElementById("rate-now").textContent.includes("limit 30/s") && `+
		`document.querySelector("#chart polyline").getAttribute("points").split(" ").some(pt => Number(pt.split(",")[1]) < 59)`)

	// Weather: the source is named; "down" makes /weather apologise.
	p.until("the weather source", `document.getElementById("weather").textContent.includes("built-in fake forecast (--offline)")`)
	p.click("switching the weather service off", "#chaos-weather")
	p.until("weather down", `document.getElementById("chaos-weather").getAttribute("aria-pressed") === "true" && document.getElementById("weather").textContent.includes("down")`)
	p.send("/weather Berlin")
	p.answered("/weather Berlin", "isn't answering")
	p.click("switching the weather service on", "#chaos-weather")
	p.until("weather up", `document.getElementById("chaos-weather").getAttribute("aria-pressed") === "false" && !document.getElementById("weather").textContent.includes("down")`)
	p.send("/weather Berlin")
	p.answered("/weather Berlin", "Berlin")

	// Every control says what the bot is expected to do.
	for _, key := range []string{"kill", "storm", "errors", "slow", "away", "weather"} {
		if why := p.eval(`document.getElementById("chaos-` + key + `").nextElementSibling.textContent`); len(why) < 40 {
			t.Errorf("control %s explains only %q", key, why)
		}
	}

	// A 429 storm: the sends are refused and counted; the bot waits as
	// told and answers when it ends (here: switched off early).
	p.click("starting a 429 storm", "#chaos-storm")
	p.until("the storm on", `document.getElementById("chaos-storm").getAttribute("aria-pressed") === "true"`)
	p.send("/help")
	p.until("429s counted", counter("429s Telegram gave")+` >= 1 && `+counter("429s waited out (bot)")+` >= 1`)
	p.click("ending the storm", "#chaos-storm")
	p.until("the storm off", `document.getElementById("chaos-storm").getAttribute("aria-pressed") === "false"`)
	p.answered("/help", "/event")

	// A slow network: the answer lags but comes.
	p.click("slowing the network", "#chaos-slow")
	p.until("slow on", `document.getElementById("chaos-slow").getAttribute("aria-pressed") === "true"`)
	p.send("/myevents")
	p.answered("/myevents", "Reminder demo")
	p.click("speeding the network up", "#chaos-slow")
	p.until("slow off", `document.getElementById("chaos-slow").getAttribute("aria-pressed") === "false"`)

	// Telegram away: nothing is answered while it is; what was typed is
	// answered, in order, when it is back.
	p.click("sending Telegram away", "#chaos-away")
	p.until("away on", `document.getElementById("chaos-away").getAttribute("aria-pressed") === "true"`)
	p.send("/help")
	p.send("/myevents")
	p.until("both typed", botAfter("/help")+".length === 0 && "+botAfter("/myevents")+".length === 0")
	time.Sleep(2 * time.Second)
	if n := p.eval(`String(` + botAfter("/help") + `.length)`); n != "0" {
		t.Fatalf("the bot answered %s message(s) while Telegram was away", n)
	}
	p.click("bringing Telegram back", "#chaos-away")
	p.until("away off", `document.getElementById("chaos-away").getAttribute("aria-pressed") === "false"`)
	p.until("both answered, in order", `(() => { const a = `+botAfter("/help")+`; const i = a.findIndex(t => t.includes("/event")); `+
		`return i >= 0 && a.slice(i + 1).some(t => t.includes("Reminder demo") && !t.includes("Reminder:")); })()`)

	// A script drives the same session the page shows: the emulator's
	// control API on the page's address.
	resp, err := http.Post(s.url+"/_emu/push", "application/json", strings.NewReader(`{"from":{"id":1001,"first_name":"Ann"},"text":"/start"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /_emu/push: %s", resp.Status)
	}
	p.until("the script's /start on the page, answered", botAfter("/start")+".length >= 1")

	// The demo's reminder arrives in Ann's chat.
	p.untilWithin(150*time.Second, "the reminder", `[...document.querySelectorAll("#messages .msg.bot")].some(m => m.innerText.includes("Reminder: Reminder demo"))`)
}

func (p page) evalAwait(js string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}
