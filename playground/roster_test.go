package playground

import (
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzRosterInput: whatever the page posts as a new person or group, the
// roster accepts only names it can show (1-32 or 1-64 characters, a known
// language), and what it saved reads back the same.
func FuzzRosterInput(f *testing.F) {
	f.Add("Greta", "de", "Choir")
	f.Add("", "xx", "")
	f.Add("Ана\x00", "ru", "  ")
	f.Add("<script>", "es", "a\nb")
	f.Fuzz(func(t *testing.T, name, lang, title string) {
		path := filepath.Join(t.TempDir(), "people.json")
		r, err := loadRoster(path)
		if err != nil {
			t.Fatal(err)
		}
		p, err := r.addPerson(name, lang)
		if err == nil {
			if n := utf8.RuneCountInString(p.Name); n == 0 || n > 32 || !knownLanguage(p.Lang) || p.ID <= 1004 {
				t.Fatalf("accepted %+v", p)
			}
		}
		g, err := r.addGroup(title, 1001, []int64{1002, 1002, 99})
		if err == nil {
			if n := utf8.RuneCountInString(g.Title); n == 0 || n > 64 || g.ID >= -4001 || len(g.Members) != 3 {
				t.Fatalf("accepted %+v", g)
			}
		}
		again, err := loadRoster(path)
		if err != nil {
			t.Fatalf("the saved roster does not load: %v", err)
		}
		if !reflect.DeepEqual(again.snapshot(), r.snapshot()) {
			t.Fatalf("saved %+v, read %+v", r.snapshot(), again.snapshot())
		}
	})
}
