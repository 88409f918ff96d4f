package locales

// Catalog ids are strings, so the compiler cannot tell a typo or a dead
// message. These tests read the repository's Go code instead: every id must
// appear somewhere as a string literal (or be declared dynamic below), and
// every literal id passed to a translation call must exist.

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// dynamicPrefixes are families of ids that Go code builds at run time, so
// they never appear whole as literals. Keep this list short: every entry
// exempts its ids from the unused check. Ids built by this package
// (cmd_<name>_desc, lang_name_<lang>) are not listed: isDynamicID derives
// them from the command and language tables, so a stale one still fails.
var dynamicPrefixes = []string{
	"weather_cond_", // weather.Condition.MessageID: "weather_cond_" + key
}

// translationFuncs are the names of functions and methods called as
// f(lang, "id", ...): Catalog.T and the handlers' shorthand a.tr. A literal
// second argument of such a call must be a catalog id.
var translationFuncs = []string{"T", "tr"}

// isDynamicID reports whether id is built at run time rather than written
// as a literal.
func isDynamicID(id string) bool {
	for _, cmd := range commands {
		if id == commandDescID(cmd.name) {
			return true
		}
	}
	for _, lang := range languages {
		if id == langNameID(lang) {
			return true
		}
	}
	for _, p := range dynamicPrefixes {
		if strings.HasPrefix(id, p) {
			return true
		}
	}
	return false
}

// goUsage is what the Go code of a module says about catalog ids.
type goUsage struct {
	literals map[string]bool // every string literal's value
	calls    []idCall        // literal ids passed to translationFuncs
}

type idCall struct {
	id  string
	pos string // file:line
}

// scanGo parses every .go file under root, except those the go tool
// ignores (directories testdata, vendor, and names starting with "." or
// "_") and the _test.go files in selfDir: the locales tests mention ids
// for their own reasons, which is not use.
func scanGo(root, selfDir string) (goUsage, error) {
	u := goUsage{literals: map[string]bool{}}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return nil
		}
		if strings.HasSuffix(name, "_test.go") && filepath.Dir(path) == selfDir {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if n.Kind == token.STRING {
					if s, err := strconv.Unquote(n.Value); err == nil {
						u.literals[s] = true
					}
				}
			case *ast.CallExpr:
				if id, ok := translationCallID(n); ok {
					p := fset.Position(n.Pos())
					rel, _ := filepath.Rel(root, p.Filename)
					u.calls = append(u.calls, idCall{id, fmt.Sprintf("%s:%d", rel, p.Line)})
				}
			}
			return true
		})
		return nil
	})
	return u, err
}

// translationCallID returns the literal id of a call f(lang, "id", ...) or
// x.f(lang, "id", ...) where f is one of translationFuncs.
func translationCallID(call *ast.CallExpr) (string, bool) {
	var name string
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		name = fun.Name
	case *ast.SelectorExpr:
		name = fun.Sel.Name
	default:
		return "", false
	}
	if !slices.Contains(translationFuncs, name) || len(call.Args) < 2 {
		return "", false
	}
	lit, ok := call.Args[1].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	id, err := strconv.Unquote(lit.Value)
	return id, err == nil
}

// unusedIDs returns the ids, sorted, that no Go file under root (see
// scanGo) has as a string literal and that isDynamic does not claim.
func unusedIDs(root, selfDir string, ids []string, isDynamic func(string) bool) ([]string, error) {
	u, err := scanGo(root, selfDir)
	if err != nil {
		return nil, err
	}
	var unused []string
	for _, id := range ids {
		if !u.literals[id] && !isDynamic(id) {
			unused = append(unused, id)
		}
	}
	slices.Sort(unused)
	return slices.Compact(unused), nil
}

// moduleRoot walks up from dir to the directory holding go.mod.
func moduleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the package directory")
		}
		dir = parent
	}
}

// repo returns the module root and this package's directory.
func repo(t *testing.T) (root, self string) {
	t.Helper()
	self, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	root, err = moduleRoot(self)
	if err != nil {
		t.Fatal(err)
	}
	return root, self
}

// allIDs is every id defined in any language.
func allIDs(c *Catalog) []string {
	var ids []string
	for _, lang := range c.Languages() {
		ids = append(ids, sortedIDs(c, lang)...)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

func TestNoUnusedMessageIDs(t *testing.T) {
	c := mustNew(t)
	root, self := repo(t)
	unused, err := unusedIDs(root, self, allIDs(c), isDynamicID)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range unused {
		t.Errorf("message %q (%s) is not referenced by any Go code: use it as a string literal, delete it, or, if it is built at run time, declare its prefix in dynamicPrefixes",
			id, c.messages[DefaultLanguage][id].path)
	}
}

func TestReferencedIDsExist(t *testing.T) {
	c := mustNew(t)
	root, self := repo(t)
	u, err := scanGo(root, self)
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range u.calls {
		if _, ok := c.messages[DefaultLanguage][call.id]; !ok {
			t.Errorf("%s: message %q is not in any English catalog file (users would see the id)", call.pos, call.id)
		}
	}
}

func TestUnusedIDsOnTestdata(t *testing.T) {
	root := filepath.Join("testdata", "usage")
	self := filepath.Join(root, "locales")
	ids := []string{
		"used_plain", "used_in_t", "used_raw", "used_in_const", "used_in_other_test",
		"used_in_locales_code", "dyn_cond_rain",
		"only_in_locales_test", "only_in_testdata", "only_in_vendor", "only_in_hidden",
		"only_in_comment", "never_used", "never_used",
	}
	dynamic := func(id string) bool { return strings.HasPrefix(id, "dyn_cond_") }
	got, err := unusedIDs(root, self, ids, dynamic)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"never_used", "only_in_comment", "only_in_hidden", "only_in_locales_test", "only_in_testdata", "only_in_vendor"}
	if !slices.Equal(got, want) {
		t.Errorf("unusedIDs = %v\nwant %v", got, want)
	}

	u, err := scanGo(root, self)
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	for _, c := range u.calls {
		calls = append(calls, c.id+"@"+c.pos)
	}
	wantCalls := []string{"used_in_t@app/app.go:11", "missing_id@app/app.go:12", "used_plain@app/app.go:13"}
	if !slices.Equal(calls, wantCalls) {
		t.Errorf("calls = %v\nwant %v", calls, wantCalls)
	}
}

func TestModuleRoot(t *testing.T) {
	want, err := filepath.Abs(filepath.Join("testdata", "usage"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := moduleRoot(filepath.Join("testdata", "usage", "app", "testdata"))
	if err != nil || got != want {
		t.Errorf("moduleRoot = %q, %v; want %q", got, err, want)
	}
}

func TestIsDynamicID(t *testing.T) {
	for id, want := range map[string]bool{
		"cmd_stats_desc":    true,
		"cmd_nothere_desc":  false, // not in the command table: would be dead
		"lang_name_de":      true,
		"lang_name_fr":      false,
		"weather_cond_rain": true,
		"people_going":      false,
	} {
		if got := isDynamicID(id); got != want {
			t.Errorf("isDynamicID(%q) = %v, want %v", id, got, want)
		}
	}
}
