// Package chart draws line charts as SVG with the standard library only:
// the load runs need one kind of picture (rates over time against limit
// lines, with a queue depth on a second axis), which is not worth a
// plotting dependency.
package chart

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Point is one sample.
type Point struct{ X, Y float64 }

// Series is a line.
type Series struct {
	Name   string
	Color  string // any SVG colour
	Points []Point
	Right  bool // plotted against the right axis
	Dashed bool
	Area   bool // filled down to zero, lightly
}

// HLine is a horizontal reference line, such as a rate limit.
type HLine struct {
	Y     float64
	Label string
	Color string
	Right bool
}

// VLine marks a moment, such as a SIGKILL.
type VLine struct {
	X     float64
	Color string
}

// Chart is a whole picture.
type Chart struct {
	Title   string
	XLabel  string
	YLabel  string // left axis
	Y2Label string // right axis; empty when no series uses it
	Width   int    // default 900
	Height  int    // default 380
	Series  []Series
	HLines  []HLine
	VLines  []VLine
	VLegend string // what the vertical lines mean, for the legend
}

const (
	marginLeft   = 64
	marginRight  = 72
	marginTop    = 56
	marginBottom = 48
)

// Write renders c as a standalone SVG document.
func (c Chart) Write(w io.Writer) error {
	if c.Width <= 0 {
		c.Width = 900
	}
	if c.Height <= 0 {
		c.Height = 380
	}
	bw := bufio.NewWriter(w)
	pw, ph := float64(c.Width-marginLeft-marginRight), float64(c.Height-marginTop-marginBottom)

	minX, maxX := math.Inf(1), math.Inf(-1)
	maxL, maxR := 0.0, 0.0
	for _, s := range c.Series {
		for _, p := range s.Points {
			minX, maxX = math.Min(minX, p.X), math.Max(maxX, p.X)
			if s.Right {
				maxR = math.Max(maxR, p.Y)
			} else {
				maxL = math.Max(maxL, p.Y)
			}
		}
	}
	for _, h := range c.HLines {
		if h.Right {
			maxR = math.Max(maxR, h.Y)
		} else {
			maxL = math.Max(maxL, h.Y)
		}
	}
	if math.IsInf(minX, 1) {
		minX, maxX = 0, 1
	}
	if maxX <= minX {
		maxX = minX + 1
	}
	stepL, topL := niceAxis(maxL * 1.08)
	stepR, topR := niceAxis(maxR * 1.08)
	stepX, _ := niceAxis(maxX - minX)
	x := func(v float64) float64 { return marginLeft + (v-minX)/(maxX-minX)*pw }
	yL := func(v float64) float64 { return marginTop + ph - v/topL*ph }
	yR := func(v float64) float64 { return marginTop + ph - v/topR*ph }

	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		c.Width, c.Height, c.Width, c.Height)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(bw, `<text x="%d" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", marginLeft, esc(c.Title))

	// Grid and axes.
	for v := 0.0; v <= topL+stepL/2; v += stepL {
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", x(minX), yL(v), x(maxX), yL(v))
		fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#444">%s</text>`+"\n", x(minX)-6, yL(v)+4, num(v))
	}
	if c.Y2Label != "" {
		for v := 0.0; v <= topR+stepR/2; v += stepR {
			fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" fill="#444">%s</text>`+"\n", x(maxX)+6, yR(v)+4, num(v))
		}
	}
	for v := math.Ceil(minX/stepX) * stepX; v <= maxX+stepX/1000; v += stepX {
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#f0f0f0"/>`+"\n", x(v), yL(0), x(v), yL(topL))
		fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#444">%s</text>`+"\n", x(v), yL(0)+16, num(v))
	}
	fmt.Fprintf(bw, `<rect x="%d" y="%d" width="%.1f" height="%.1f" fill="none" stroke="#888"/>`+"\n", marginLeft, marginTop, pw, ph)
	fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle" fill="#222">%s</text>`+"\n", marginLeft+pw/2, c.Height-10, esc(c.XLabel))
	fmt.Fprintf(bw, `<text transform="translate(16 %.1f) rotate(-90)" text-anchor="middle" fill="#222">%s</text>`+"\n", marginTop+ph/2, esc(c.YLabel))
	if c.Y2Label != "" {
		fmt.Fprintf(bw, `<text transform="translate(%d %.1f) rotate(90)" text-anchor="middle" fill="#222">%s</text>`+"\n", c.Width-14, marginTop+ph/2, esc(c.Y2Label))
	}

	for _, v := range c.VLines {
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1" stroke-dasharray="2 3"/>`+"\n",
			x(v.X), marginTop, x(v.X), marginTop+ph, v.Color)
	}
	for _, s := range c.Series {
		if len(s.Points) == 0 {
			continue
		}
		y := yL
		if s.Right {
			y = yR
		}
		var path strings.Builder
		for i, p := range s.Points {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, x(p.X), y(p.Y))
		}
		if s.Area {
			fmt.Fprintf(bw, `<path d="%sL%.1f %.1f L%.1f %.1f Z" fill="%s" fill-opacity="0.15" stroke="none"/>`+"\n",
				path.String(), x(s.Points[len(s.Points)-1].X), y(0), x(s.Points[0].X), y(0), s.Color)
		}
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(bw, `<path d="%s" fill="none" stroke="%s" stroke-width="1.6"%s/>`+"\n", strings.TrimSpace(path.String()), s.Color, dash)
	}
	for _, h := range c.HLines {
		y := yL
		if h.Right {
			y = yR
		}
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.4" stroke-dasharray="8 4"/>`+"\n",
			x(minX), y(h.Y), x(maxX), y(h.Y), h.Color)
		fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" text-anchor="end" fill="%s">%s</text>`+"\n", x(maxX)-4, y(h.Y)-4, h.Color, esc(h.Label))
	}

	// Legend, one row under the title.
	lx := float64(marginLeft)
	item := func(color, label string, dashed bool) {
		dash := ""
		if dashed {
			dash = ` stroke-dasharray="4 3"`
		}
		fmt.Fprintf(bw, `<line x1="%.1f" y1="38" x2="%.1f" y2="38" stroke="%s" stroke-width="2"%s/>`+"\n", lx, lx+18, color, dash)
		fmt.Fprintf(bw, `<text x="%.1f" y="42">%s</text>`+"\n", lx+22, esc(label))
		lx += 22 + 7*float64(len([]rune(label))) + 18
	}
	for _, s := range c.Series {
		label := s.Name
		if s.Right {
			label += " (right)"
		}
		item(s.Color, label, s.Dashed)
	}
	if len(c.VLines) > 0 && c.VLegend != "" {
		item(c.VLines[0].Color, c.VLegend, true)
	}
	fmt.Fprintln(bw, `</svg>`)
	return bw.Flush()
}

// niceAxis returns a tick step of 1, 2 or 5 times a power of ten giving
// about five ticks, and the axis top (a multiple of it) covering max.
func niceAxis(maxV float64) (step, top float64) {
	if maxV <= 0 || math.IsNaN(maxV) {
		return 1, 1
	}
	raw := maxV / 5
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / pow; {
	case f <= 1:
		step = pow
	case f <= 2:
		step = 2 * pow
	case f <= 5:
		step = 5 * pow
	default:
		step = 10 * pow
	}
	return step, math.Ceil(maxV/step) * step
}

func num(v float64) string {
	if math.Abs(v-math.Round(v)) < 1e-9 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%g", math.Round(v*100)/100)
}

func esc(s string) string { return html.EscapeString(s) }
