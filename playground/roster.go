package playground

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/cmd/tgemu/emu"
)

// Person is someone the page can act as.
type Person struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Lang  string `json:"lang"`  // Telegram's language_code
	Admin bool   `json:"admin"` // a bot admin (RSVPBOT_ADMINS): sees the admin commands
}

// Group is a group chat with the bot in it.
type Group struct {
	ID      int64   `json:"id"`
	Title   string  `json:"title"`
	Members []int64 `json:"members"`
	Owner   int64   `json:"owner"` // its creator: an administrator of the chat
}

// knownLanguage reports a language the page offers for a new person (the
// bot's catalogs).
func knownLanguage(lang string) bool {
	switch lang {
	case "en", "ru", "de", "es":
		return true
	}
	return false
}

// defaultRoster is a new playground's people: one per language the bot
// speaks, Ann a bot admin, and a group with all of them.
func defaultRoster() rosterData {
	return rosterData{
		People: []Person{{ID: 1001, Name: "Ann", Lang: "en", Admin: true}, {ID: 1002, Name: "Boris", Lang: "ru"},
			{ID: 1003, Name: "Dieter", Lang: "de"}, {ID: 1004, Name: "Elena", Lang: "es"}},
		Groups: []Group{{ID: -4001, Title: "Hikers", Members: []int64{1001, 1002, 1003, 1004}, Owner: 1001}},
	}
}

type rosterData struct {
	People []Person `json:"people"`
	Groups []Group  `json:"groups"`
}

// roster is the people and groups, kept in a JSON file beside the database.
type roster struct {
	path string

	mu   sync.Mutex
	data rosterData
	// fresh lists the groups the bot has not been added to yet (in the
	// emulator): a new roster's, and groups added on the page.
	fresh []int64
}

func rosterPath(db string) string {
	return filepath.Join(filepath.Dir(db), strings.TrimSuffix(filepath.Base(db), filepath.Ext(db))+"-people.json")
}

func loadRoster(path string) (*roster, error) {
	r := &roster{path: path}
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		r.data = defaultRoster()
		for _, g := range r.data.Groups {
			r.fresh = append(r.fresh, g.ID)
		}
		return r, r.saveLocked()
	case err != nil:
		return nil, fmt.Errorf("playground people: %w", err)
	}
	if err := json.Unmarshal(raw, &r.data); err != nil || len(r.data.People) == 0 {
		return nil, &UsageError{fmt.Sprintf("playground people %s: not a list of people (%v); delete it or start with --reset", path, err)}
	}
	return r, nil
}

func (r *roster) saveLocked() error {
	raw, err := json.MarshalIndent(r.data, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.path), 0o750); err != nil {
		return err
	}
	tmp := r.path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o640); err != nil {
		return fmt.Errorf("playground people: %w", err)
	}
	return os.Rename(tmp, r.path)
}

// snapshot returns a copy of the roster.
func (r *roster) snapshot() rosterData {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out rosterData
	raw, _ := json.Marshal(r.data)
	_ = json.Unmarshal(raw, &out)
	return out
}

// admins are the bot admins' ids (RSVPBOT_ADMINS).
func (r *roster) admins() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []int64
	for _, p := range r.data.People {
		if p.Admin {
			ids = append(ids, p.ID)
		}
	}
	return ids
}

func (r *roster) person(id int64) (Person, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.data.People {
		if p.ID == id {
			return p, true
		}
	}
	return Person{}, false
}

// user is a person as Telegram describes them in updates.
func (p Person) user() models.User {
	return models.User{ID: p.ID, FirstName: p.Name, Username: strings.ToLower(p.Name), LanguageCode: p.Lang}
}

// seed tells a new emulator what Telegram would know: the chats, their
// owners as administrators, and (once per group) the bot being added.
func (r *roster) seed(e *emu.Emulator) {
	r.mu.Lock()
	defer r.mu.Unlock()
	byID := map[int64]Person{}
	for _, p := range r.data.People {
		byID[p.ID] = p
		e.Fake.AddChat(bottest.PrivateChat(p.user()))
	}
	for _, g := range r.data.Groups {
		chat := bottest.Group(g.ID, g.Title)
		e.Fake.AddChat(chat)
		for _, m := range g.Members {
			status := models.ChatMemberTypeMember
			if m == g.Owner {
				status = models.ChatMemberTypeAdministrator
			}
			e.Fake.SetChatMember(chat, byID[m].user(), status)
		}
	}
	for _, id := range r.fresh {
		for _, g := range r.data.Groups {
			if g.ID == id {
				e.Fake.PushMyChatMember(bottest.Group(g.ID, g.Title), byID[g.Owner].user(),
					models.ChatMemberTypeLeft, models.ChatMemberTypeMember)
			}
		}
	}
	r.fresh = nil
}

// addPerson adds someone speaking lang.
func (r *roster) addPerson(name, lang string) (Person, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 32 || !utf8.ValidString(name) {
		return Person{}, errors.New("a name has 1 to 32 characters")
	}
	if !knownLanguage(lang) {
		return Person{}, errors.New("language: en, ru, de or es")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := Person{ID: 1001, Name: name, Lang: lang}
	for _, q := range r.data.People {
		p.ID = max(p.ID, q.ID+1)
	}
	r.data.People = append(r.data.People, p)
	if err := r.saveLocked(); err != nil {
		return Person{}, err
	}
	return p, nil
}

// addGroup adds a group made by owner with members.
func (r *roster) addGroup(title string, owner int64, members []int64) (Group, error) {
	title = strings.TrimSpace(title)
	if title == "" || utf8.RuneCountInString(title) > 64 || !utf8.ValidString(title) {
		return Group{}, errors.New("a title has 1 to 64 characters")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	known := map[int64]bool{}
	for _, p := range r.data.People {
		known[p.ID] = true
	}
	if !known[owner] {
		return Group{}, errors.New("unknown owner")
	}
	g := Group{ID: -4001, Title: title, Owner: owner, Members: []int64{owner}}
	for _, q := range r.data.Groups {
		g.ID = min(g.ID, q.ID-1)
	}
	for _, m := range members {
		if known[m] && m != owner {
			g.Members = append(g.Members, m)
		}
	}
	r.data.Groups = append(r.data.Groups, g)
	r.fresh = append(r.fresh, g.ID)
	if err := r.saveLocked(); err != nil {
		return Group{}, err
	}
	return g, nil
}

// reset forgets everyone added: the default people and group again, the
// bot to be added to the group anew.
func (r *roster) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.data, r.fresh = defaultRoster(), nil
	for _, g := range r.data.Groups {
		r.fresh = append(r.fresh, g.ID)
	}
	_ = r.saveLocked()
}
