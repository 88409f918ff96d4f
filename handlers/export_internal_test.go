package handlers

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"Alice":                   "Alice",
		"Ольга 🎉":                 "Ольга 🎉",
		"=1+1":                    "'=1+1",
		"+49 30 123":              "'+49 30 123",
		"-2":                      "'-2",
		"@SUM(A1)":                "'@SUM(A1)",
		"\tcmd":                   "'\tcmd",
		"\rcmd":                   "'\rcmd",
		"a=1":                     "a=1",
		"'quoted":                 "'quoted",
		"\xff=bad utf-8":          "'=bad utf-8",
		"=HYPERLINK(\"x\";\"y\")": "'=HYPERLINK(\"x\";\"y\")",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// Names are typed by anyone: whatever they are, the file parses back into
// the same cells, begins with the byte order mark, and no cell begins
// with what a spreadsheet would run as a formula.
func FuzzWriteCSV(f *testing.F) {
	for _, s := range []string{"Alice", "=1+1", "-", "@", "a,b", `"quoted"`, "line\nbreak", "cr\r\nlf", "\r", "Ж🎉", "\xff\xfe", " =x", ""} {
		f.Add(s, "olga")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		data, err := writeCSV([][]string{{"Name", "Username"}, {a, b}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte(csvBOM)) || !utf8.Valid(data) {
			t.Fatalf("not UTF-8 with a BOM: %q", data)
		}
		recs, err := csv.NewReader(bytes.NewReader(data[len(csvBOM):])).ReadAll()
		if err != nil {
			t.Fatalf("does not parse: %v\n%q", err, data)
		}
		if len(recs) != 2 || len(recs[1]) != 2 {
			t.Fatalf("records %q from %q, %q", recs, a, b)
		}
		for i, in := range []string{a, b} {
			got := recs[1][i]
			// encoding/csv reads a quoted \r\n as \n.
			if want := strings.ReplaceAll(csvCell(in), "\r\n", "\n"); got != want {
				t.Fatalf("cell %q read back as %q, want %q", in, got, want)
			}
			if got != "" && strings.ContainsRune("=+-@\t\r", rune(got[0])) {
				t.Fatalf("cell %q begins with a formula character", got)
			}
		}
	})
}
