package chart

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

func TestNiceAxis(t *testing.T) {
	for _, tc := range []struct{ max, step, top float64 }{
		{0, 1, 1}, {29, 10, 30}, {33, 10, 40}, {105, 50, 150}, {7, 2, 8}, {10000, 2000, 10000},
	} {
		step, top := niceAxis(tc.max)
		if step != tc.step || top != tc.top {
			t.Errorf("niceAxis(%g) = %g, %g; want %g, %g", tc.max, step, top, tc.step, tc.top)
		}
	}
}

// The SVG must be well-formed XML (browsers refuse it otherwise) and
// escape labels.
func TestWriteIsWellFormed(t *testing.T) {
	c := Chart{Title: "sent <per> second & depth", XLabel: "s", YLabel: "/s", Y2Label: "rows",
		Series: []Series{{Name: "sent", Color: "blue", Points: []Point{{0, 1}, {1, 30}, {2, 29}}},
			{Name: "pending", Color: "purple", Right: true, Area: true, Points: []Point{{0, 100}, {2, 0}}}},
		HLines: []HLine{{Y: 30, Label: "limit 30/s", Color: "orange"}},
		VLines: []VLine{{X: 1, Color: "grey"}}, VLegend: "SIGKILL"}
	var b strings.Builder
	if err := c.Write(&b); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(b.String()))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, b.String())
		}
	}
	for _, want := range []string{"limit 30/s", "SIGKILL", "&lt;per&gt;"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q", want)
		}
	}
	// An empty chart still renders.
	if err := (Chart{}).Write(io.Discard); err != nil {
		t.Fatal(err)
	}
}
