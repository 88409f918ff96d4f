// Package bottest is an in-process fake of the Telegram Bot API, in the spirit
// of net/http/httptest.
//
// It exists because nothing in this repository may talk to the real Telegram:
// the bot's tests, the standalone emulator and the load generator all need a
// Telegram that is fast, deterministic, inspectable and able to misbehave on
// demand. A Server speaks the wire protocol go-telegram/bot uses
// (POST /bot<token>/<method> with multipart/form-data, JSON or url-encoded
// bodies; answers {"ok":...}), keeps what each chat currently shows (messages
// with their text and inline keyboards), lets a test push updates as users,
// records every call, and reproduces the failures Telegram produces in
// production: flood limits (429 with retry_after), 5xx answers, dropped
// connections, blocked users, group-to-supergroup migration and one-shot
// scripted faults. Retry, ordering and idempotency code can therefore be
// tested without sleeping and without luck.
//
// Typical use:
//
//	s := bottest.NewServer()
//	defer s.Close()
//	b, _ := bot.New(s.Token, bot.WithServerURL(s.URL), bot.WithSkipGetMe())
//	s.PushCommand(bottest.PrivateChat(alice), alice, "/start")
//	...
//	msgs := s.Messages(alice.ID)
//
// Deliberate simplifications: every numeric chat id exists (its type is taken
// from how it was pushed, else from its sign: positive ids are private chats,
// ids below -1e12 supergroups, other negative ids groups); webhook URLs may
// be plain http; MarkdownV2 text is stored as sent (HTML is parsed, see
// parse_mode handling). Inline mode — inline queries, their answers, chosen
// results, inline messages and their edits and buttons — is in inline.go.
package bottest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-telegram/bot/models"
	"golang.org/x/time/rate"
)

// DefaultToken is the token a Server accepts unless WithToken says otherwise.
// Its numeric prefix is the bot's user id, as with real tokens.
const DefaultToken = "123456:TEST-token"

// maxBody bounds a request body; Telegram's own upload limit is 50 MB.
const maxBody = 50 << 20

// Server is a fake Telegram Bot API. Create it with NewServer (listening on
// 127.0.0.1) or NewUnstartedServer (to serve it yourself through ServeHTTP);
// every method is safe for concurrent use.
type Server struct {
	// URL is the base URL to give bot.WithServerURL, e.g. "http://127.0.0.1:41234".
	// It is empty until Start.
	URL string
	// Token is the only token the server accepts; any other answers 401.
	// Set it with WithToken; changing it while serving is a data race.
	Token string

	botUser models.User
	now     func() time.Time
	seed    uint64

	ctx     context.Context // cancelled by Close: wakes long polls and stops webhook delivery
	cancel  context.CancelFunc
	closing sync.Once
	wg      sync.WaitGroup
	httpSrv *http.Server
	client  *http.Client // for webhook delivery

	mu          sync.Mutex
	rng         *rand.Rand
	limits      Limits
	limiters    map[int64]*rate.Limiter // chat id -> limiter; key 0 is the global one
	faults      Faults
	outage      *Outage // see StartOutage
	scripted    []*Fault
	blocked     map[int64]bool
	notStarted  map[int64]bool
	migrated    map[int64]int64
	chats       map[int64]*chatState
	users       map[int64]models.User // users seen in pushes, for member objects
	files       map[string]File
	callbacks   map[string]bool // callback query id -> answered
	commands    map[string][]models.BotCommand
	fileSeq     int
	callbackSeq int

	// Inline mode (inline.go).
	inlineQueries    map[string]*inlineQueryState
	inlineMsgs       map[string]*inlineMsg
	inlineSeq        int
	inlineNoFeedback bool

	// Updates: the queue holds updates not yet confirmed by an offset or a
	// 200 from the webhook. updatesCh is closed and replaced whenever the
	// queue or the webhook changes, waking long polls and the deliverer.
	nextUpdateID int64
	queue        []queuedUpdate
	allowed      map[string]bool // nil: Telegram's default set
	updatesCh    chan struct{}
	poll         chan struct{} // closed to supersede the running long poll
	webhook      webhookState

	calls     []Call
	counts    counters
	changedCh chan struct{} // closed and replaced on every recorded call or push
}

// Option configures a Server at construction.
type Option func(*Server)

// WithToken sets the accepted token; its numeric prefix becomes the bot's id.
func WithToken(token string) Option { return func(s *Server) { s.Token = token } }

// WithBotUsername sets the username getMe reports (default "bottest_bot").
func WithBotUsername(name string) Option { return func(s *Server) { s.botUser.Username = name } }

// WithClock replaces time.Now for message dates, call times and rate
// limiting, so limit tests can move time instead of sleeping. Long-poll
// timeouts, latency and webhook retries still use real time.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithSeed seeds the random source behind fault rates and latency. The
// default seed is 1, so runs are reproducible unless a test asks otherwise
// (concurrent callers still race for the draws).
func WithSeed(seed uint64) Option { return func(s *Server) { s.seed = seed } }

// WithLimits enables flood limits from the start; see Limits.
func WithLimits(l Limits) Option { return func(s *Server) { s.limits = l } }

// WithFaults enables random faults from the start; see Faults.
func WithFaults(f Faults) Option { return func(s *Server) { s.faults = f } }

// NewServer starts a Server on a random port of 127.0.0.1. Close it when done.
func NewServer(opts ...Option) *Server {
	s := NewUnstartedServer(opts...)
	s.Start()
	return s
}

// NewUnstartedServer returns a Server that does not listen yet: call Start,
// or mount it (it is an http.Handler) on a server of your own, as the
// standalone emulator does. Close must be called either way, because webhook
// delivery runs in the background from the start.
func NewUnstartedServer(opts ...Option) *Server {
	s := &Server{
		Token:      DefaultToken,
		botUser:    models.User{IsBot: true, FirstName: "Test Bot", Username: "bottest_bot", CanJoinGroups: true},
		now:        time.Now,
		seed:       1,
		client:     &http.Client{Timeout: 10 * time.Second},
		limiters:   map[int64]*rate.Limiter{},
		blocked:    map[int64]bool{},
		notStarted: map[int64]bool{},
		migrated:   map[int64]int64{},
		chats:      map[int64]*chatState{},
		users:      map[int64]models.User{},
		files:      map[string]File{},
		callbacks:  map[string]bool{},
		commands:   map[string][]models.BotCommand{},
		updatesCh:  make(chan struct{}),
		changedCh:  make(chan struct{}),
		counts:     newCounters(),
	}
	s.inlineQueries, s.inlineMsgs = map[string]*inlineQueryState{}, map[string]*inlineMsg{} // inline.go
	for _, o := range opts {
		o(s)
	}
	s.botUser.ID, _ = strconv.ParseInt(strings.SplitN(s.Token, ":", 2)[0], 10, 64)
	s.rng = rand.New(rand.NewPCG(s.seed, s.seed^0x9e3779b97f4a7c15))
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.deliverWebhooks()
	return s
}

// Start listens on 127.0.0.1 with a random port and sets URL. Like
// httptest, it panics if it cannot listen: there is nothing a test could do.
func (s *Server) Start() {
	if s.URL != "" {
		panic("bottest: server already started")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("bottest: listen: %v", err))
	}
	s.URL = "http://" + l.Addr().String()
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.httpSrv.Serve(l) // returns ErrServerClosed on Close
	}()
}

// Close stops the server: pending long polls return, webhook delivery stops
// and the listener (if started) is closed. It is safe to call more than once.
func (s *Server) Close() {
	s.closing.Do(func() {
		s.cancel()
		if s.httpSrv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = s.httpSrv.Shutdown(ctx)
			cancel()
			_ = s.httpSrv.Close()
		}
		s.wg.Wait()
	})
}

// Bot returns the bot's own user, as getMe reports it.
func (s *Server) Bot() models.User { return s.botUser }

// reply is a method's answer before encoding.
type reply struct {
	status     int // 200 for success
	result     any
	desc       string
	retryAfter int
	migrateTo  int64
	drop       bool   // close the connection instead of answering
	injected   string // which fault produced the reply, "" if genuine
	messageID  int
}

func ok(result any) reply { return reply{status: http.StatusOK, result: result} }

func fail(status int, desc string) reply { return reply{status: status, desc: desc} }

func badRequest(desc string) reply { return fail(http.StatusBadRequest, "Bad Request: "+desc) }

// encode renders r as Telegram does. It runs under s.mu for replies built
// from server state, because models' MarshalJSON methods read (and some
// write) the values they encode.
func (r reply) encode() []byte {
	type params struct {
		RetryAfter      int   `json:"retry_after,omitempty"`
		MigrateToChatID int64 `json:"migrate_to_chat_id,omitempty"`
	}
	type answer struct {
		OK          bool            `json:"ok"`
		Result      json.RawMessage `json:"result,omitempty"`
		ErrorCode   int             `json:"error_code,omitempty"`
		Description string          `json:"description,omitempty"`
		Parameters  *params         `json:"parameters,omitempty"`
	}
	a := answer{OK: r.status == http.StatusOK}
	if a.OK {
		raw, err := json.Marshal(r.result)
		if err != nil { // a bug in the fake; say so rather than answer garbage
			raw, a = nil, answer{ErrorCode: 500, Description: "Internal Server Error: bottest: " + err.Error()}
		}
		a.Result = raw
	} else {
		a.ErrorCode, a.Description = r.status, r.desc
		if r.retryAfter != 0 || r.migrateTo != 0 {
			a.Parameters = &params{RetryAfter: r.retryAfter, MigrateToChatID: r.migrateTo}
		}
	}
	body, _ := json.Marshal(a) // cannot fail: only plain types and raw JSON
	return body
}

// ServeHTTP answers one Bot API request. It makes Server an http.Handler, so
// a binary can serve the fake on an address of its choosing.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &Call{Time: s.now()}
	var rep reply
	var body []byte
	func() {
		token, name, found := strings.Cut(strings.TrimPrefix(r.URL.Path, "/bot"), "/")
		c.Method = strings.TrimPrefix(name, "test/") // go-telegram/bot's test environment prefix
		if !found || !strings.HasPrefix(r.URL.Path, "/bot") {
			rep = fail(http.StatusNotFound, "Not Found")
			return
		}
		if token != s.Token {
			rep = fail(http.StatusUnauthorized, "Unauthorized")
			return
		}
		m, known := lookupMethod(c.Method)
		if !known {
			rep = fail(http.StatusNotFound, "Not Found")
			return
		}
		c.Method = m.name
		var err error
		c.Params, c.Files, err = readParams(r)
		if err != nil {
			rep = badRequest(err.Error())
			return
		}
		c.ChatID, _ = strconv.ParseInt(c.Params["chat_id"], 10, 64)
		rep, body = s.serve(r.Context(), m, c)
	}()
	if body == nil {
		body = rep.encode()
	}

	c.Status, c.Description, c.RetryAfter = rep.status, rep.desc, rep.retryAfter
	c.MigrateToChatID, c.Injected, c.MessageID = rep.migrateTo, rep.injected, rep.messageID
	if rep.drop {
		c.Status, c.Dropped = 0, true
		s.record(c)
		if hj, isHijacker := w.(http.Hijacker); isHijacker {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		// Without hijacking (HTTP/2, a recorder) the closest is aborting the handler.
		panic(http.ErrAbortHandler)
	}
	s.record(c)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	_, _ = w.Write(body)
}

// serve runs the fault pipeline and the method itself. The order is:
// latency, scripted faults, migration, blocked users, flood limits, random
// drop/5xx, the method. Deterministic API errors come before flood control,
// so a bot that keeps writing to a blocked user does not also burn budget.
func (s *Server) serve(ctx context.Context, m method, c *Call) (reply, []byte) {
	if m.name != "getUpdates" {
		s.sleepLatency(ctx)
	}
	s.mu.Lock()
	if rep, down := s.outageReply(); down {
		s.mu.Unlock()
		return rep, nil
	}
	if f := s.takeScripted(m.name, c.ChatID); f != nil {
		if f.Apply && m.h != nil {
			m.h(s, c)
		}
		rep := f.reply()
		s.mu.Unlock()
		return rep, nil
	}
	if m.h == nil { // getUpdates blocks, so it manages the lock itself
		s.mu.Unlock()
		return s.getUpdates(ctx, c), nil
	}
	defer s.mu.Unlock()
	failed, phantom := s.checkFaults(m, c)
	if failed != nil {
		return *failed, nil
	}
	rep := m.h(s, c)
	if phantom && rep.status == http.StatusOK {
		rep = reply{status: 500, desc: "Internal Server Error", injected: "phantom", messageID: rep.messageID}
	}
	return rep, rep.encode()
}

// readParams decodes a request the ways Telegram accepts: query string,
// multipart/form-data (go-telegram/bot always sends this, nested objects as
// JSON text), application/json and application/x-www-form-urlencoded. Values
// are kept as text; JSON objects and arrays keep their JSON form, as they
// would arrive in a form field.
func readParams(r *http.Request) (map[string]string, map[string]File, error) {
	params := map[string]string{}
	var files map[string]File
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, nil, fmt.Errorf("can't read request body: %v", err)
	}
	if len(body) > maxBody {
		return nil, nil, errors.New("request entity too large")
	}
	if len(bytes.TrimSpace(body)) == 0 { // go-telegram/bot sends an empty multipart body for methods without params
		return params, files, nil
	}
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		form, err := multipart.NewReader(bytes.NewReader(body), ctParams["boundary"]).ReadForm(maxBody)
		if err != nil {
			return nil, nil, fmt.Errorf("can't parse multipart body: %v", err)
		}
		defer func() { _ = form.RemoveAll() }()
		for k, v := range form.Value {
			params[k] = v[0]
		}
		for k, fhs := range form.File {
			f, err := fhs[0].Open()
			if err != nil {
				return nil, nil, fmt.Errorf("can't read file %q: %v", k, err)
			}
			data, err := io.ReadAll(f)
			_ = f.Close()
			if err != nil {
				return nil, nil, fmt.Errorf("can't read file %q: %v", k, err)
			}
			if files == nil {
				files = map[string]File{}
			}
			files[k] = File{Name: fhs[0].Filename, ContentType: fhs[0].Header.Get("Content-Type"), Data: data}
		}
	case "application/json":
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, nil, errors.New("can't parse JSON object")
		}
		for k, v := range raw {
			var str string
			if json.Unmarshal(v, &str) == nil {
				params[k] = str
			} else if string(v) != "null" {
				params[k] = string(v)
			}
		}
	case "application/x-www-form-urlencoded", "":
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, nil, fmt.Errorf("can't parse form: %v", err)
		}
		for k, v := range values {
			params[k] = v[0]
		}
	default:
		return nil, nil, fmt.Errorf("unsupported Content-Type %q", ct)
	}
	return params, files, nil
}
