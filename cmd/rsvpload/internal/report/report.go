// Package report writes docs/benchmarks.md from `go test -bench` output
// and rsvpload results (`rsvpload report`).
//
// The file is shared: several engineers' figures end up in it, merged by
// hand. So the report rewrites only the blocks between its own markers
//
//	<!-- rsvpload:begin NAME --> ... <!-- rsvpload:end NAME -->
//
// and keeps everything else as it finds it; a file without the markers (or
// no file) gets the whole skeleton, with one section per area (intake,
// outbox, events, reminders, API, load runs) and a marked place in each
// for figures merged by hand.
package report

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rsvpbot/rsvpbot/cmd/rsvpload/internal/load"
)

// Main runs `rsvpload report [flags] RESULT.json...`.
func Main(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rsvpload report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	benchPath := fs.String("bench", "", "output of `go test -bench` to include")
	out := fs.String("out", "docs/benchmarks.md", "the file to write (blocks outside rsvpload's markers are kept)")
	charts := fs.String("charts", "charts", "directory of the load charts, relative to the file written")
	repro := fs.String("reproduce", "make bench", "the command that reproduces the figures")
	took := fs.Duration("took", 0, "how long the whole benchmark run took, for the record")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: rsvpload report [flags] RESULT.json...\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	var results []*load.Result
	for _, p := range fs.Args() {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var r load.Result
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		results = append(results, &r)
	}
	var benches []Bench
	if *benchPath != "" {
		f, err := os.Open(*benchPath)
		if err != nil {
			return err
		}
		benches, err = ParseBench(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	old, err := os.ReadFile(*out)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	blocks := Blocks(Machine(), *repro, *took, benches, results, *charts)
	doc := Merge(string(old), blocks)
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(*out, []byte(doc), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d benchmarks, %d load runs)\n", *out, len(benches), len(results))
	return nil
}

// Bench is one benchmark result line.
type Bench struct {
	Pkg        string
	Name       string // without the Benchmark prefix and the -N suffix
	Iterations int64
	Metrics    []Metric // in the order printed
}

// Metric is one value and its unit ("ns/op", "B/op", "updates/s", ...).
type Metric struct {
	Value float64
	Unit  string
}

// ParseBench reads `go test -bench` output.
func ParseBench(r io.Reader) ([]Bench, error) {
	var out []Bench
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue // a benchmark's own log line
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		b := Bench{Pkg: pkg, Name: name, Iterations: n}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			b.Metrics = append(b.Metrics, Metric{v, f[i+1]})
		}
		out = append(out, b)
	}
	return out, sc.Err()
}

// area is one of the report's sections. A benchmark goes to the area of
// its package when the package belongs to one area, else (handlers, store:
// shared by several) to the first area whose name pattern it matches, else
// to the package's default area, else to "other".
type area struct {
	key, title string
	pkgs       []string       // package path suffixes owned by the area
	names      *regexp.Regexp // benchmark names, for shared packages
	shared     []string       // shared packages whose unmatched benchmarks land here
}

func areas() []area {
	return []area{
		{"intake", "Intake", []string{"/bot", "/bot/bottest"},
			regexp.MustCompile(`(?i)intake|pipeline|inbox|dispatch|webhook|poll`), []string{"/store"}},
		{"outbox", "Outbox", []string{"/outbox"}, regexp.MustCompile(`(?i)outbox|sender|ledger|enqueue`), nil},
		{"events", "Events", nil, regexp.MustCompile(`(?i)event|rsvp|card|ics`), []string{"/handlers"}},
		{"reminders", "Reminders", []string{"/scheduler"}, regexp.MustCompile(`(?i)remind|schedul|series`), nil},
		{"api", "API", []string{"/ops", "/api", "/cmd/rsvpbot"}, regexp.MustCompile(`(?i)^api`), nil},
		{"other", "Other packages", nil, nil, nil},
	}
}

func areaOf(b Bench, as []area) string {
	for _, a := range as {
		for _, p := range a.pkgs {
			if strings.HasSuffix(b.Pkg, p) {
				return a.key
			}
		}
	}
	for _, a := range as {
		if a.names != nil && a.names.MatchString(b.Name) {
			return a.key
		}
	}
	for _, a := range as {
		for _, p := range a.shared {
			if strings.HasSuffix(b.Pkg, p) {
				return a.key
			}
		}
	}
	return "other"
}

// MachineInfo describes where the figures were measured.
type MachineInfo struct {
	CPUs      int
	CPUModel  string
	MemoryGB  float64
	GoVersion string
	Kernel    string
	Commit    string
	When      time.Time
}

// Machine reads the machine's description from /proc and the toolchain.
func Machine() MachineInfo {
	m := MachineInfo{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), When: time.Now().UTC(), CPUModel: "unknown"}
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		m.GoVersion = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("nproc").Output(); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil {
			m.CPUs = n
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				m.MemoryGB = kb / (1 << 20)
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	return m
}

// Blocks renders every generated block by name.
func Blocks(m MachineInfo, repro string, took time.Duration, benches []Bench, results []*load.Result, charts string) map[string]string {
	blocks := map[string]string{}
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %d × %s, %.1f GB memory, %s, Linux %s",
		m.When.Format("2006-01-02 15:04 MST"), m.CPUs, m.CPUModel, m.MemoryGB, m.GoVersion, m.Kernel)
	if m.Commit != "" {
		fmt.Fprintf(&b, ", tree %s", m.Commit)
	}
	b.WriteString(".\n\n")
	fmt.Fprintf(&b, "Reproduce with `%s`", repro)
	if took > 0 {
		fmt.Fprintf(&b, " (took %s here)", took.Round(time.Second))
	}
	b.WriteString(": it runs `go test -p 1 -run '^$' -bench . -benchmem ./...` (one package at a time, so benchmarks do not share the CPUs), then one short `rsvpload` run of each mode (commands below), and rewrites the blocks between `rsvpload:begin`/`rsvpload:end` markers in this file. Text outside the markers is kept.\n")
	blocks["machine"] = b.String()

	as := areas()
	byArea := map[string][]Bench{}
	for _, bn := range benches {
		k := areaOf(bn, as)
		byArea[k] = append(byArea[k], bn)
	}
	for _, a := range as {
		blocks["go-bench "+a.key] = benchTable(byArea[a.key])
	}
	blocks["load"] = loadBlock(results, charts)
	return blocks
}

func benchTable(bs []Bench) string {
	if len(bs) == 0 {
		return "_No Go benchmarks in this area yet._\n"
	}
	var b strings.Builder
	b.WriteString("| benchmark | package | runs | time/op | B/op | allocs/op | own metrics |\n|---|---|--:|--:|--:|--:|---|\n")
	for _, bn := range bs {
		var nsop, bop, allocs string
		var own []string
		for _, m := range bn.Metrics {
			switch m.Unit {
			case "ns/op":
				nsop = duration(m.Value)
			case "B/op":
				bop = fmt.Sprintf("%.0f", m.Value)
			case "allocs/op":
				allocs = fmt.Sprintf("%.0f", m.Value)
			default:
				own = append(own, fmt.Sprintf("%s %s", trimFloat(m.Value), m.Unit))
			}
		}
		pkg := bn.Pkg
		if i := strings.Index(pkg, "/rsvpbot/"); i >= 0 {
			pkg = pkg[i+len("/rsvpbot/"):]
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s |\n", bn.Name, pkg, bn.Iterations, nsop, bop, allocs, strings.Join(own, ", "))
	}
	return b.String()
}

func duration(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

func trimFloat(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func loadBlock(results []*load.Result, charts string) string {
	if len(results) == 0 {
		return "_No load runs recorded._\n"
	}
	order := map[load.Mode]int{load.Steady: 0, load.Ramp: 1, load.Spike: 2, load.Chaos: 3}
	sort.SliceStable(results, func(i, j int) bool { return order[results[i].Mode] < order[results[j].Mode] })
	var b strings.Builder
	b.WriteString("| mode | result | load | updates handled/s | reply p50 / p95 / p99 | sent/s (peak) vs limit | 429s given | retries | ambiguous | dead letters | SIGKILLs |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %s | %.0f s + %.0f s drain | %.1f | %.0f / %.0f / %.0f ms | %.1f (%d) vs %g | %d | %d | %d | %d | %d |\n",
			r.Mode, passFail(r.OK), r.LoadSecs, r.DrainSecs, r.Updates.PerSecond, r.Latency.P50Ms, r.Latency.P95Ms, r.Latency.P99Ms,
			r.Sending.PerSecond, r.Sending.PeakPerSecond, r.BotLimit.GlobalPerSecond, r.Sending.TooManyGiven, r.Sending.Retries,
			r.Sending.Ambiguous, r.Sending.DeadLetters, r.Bot.Kills)
	}
	b.WriteString("\nInvariants (every run): updates lost · handled twice · replies lost · duplicates beyond the ambiguity rule · order violations · rows stuck.\n\n")
	b.WriteString("| mode | updates pushed | lost | handled twice | replies expected | delivered | rightly dropped | lost | duplicated (allowed) | beyond rule | order violations | stuck |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range results {
		c := r.Checks
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d | %d (%d) | %d | %d | %d |\n", r.Mode, r.Updates.Pushed,
			c.UpdatesLost, c.UpdatesHandledTwice, c.RepliesExpected, c.RepliesDelivered, c.RepliesDropped, c.RepliesLost,
			c.RepliesDuplicated, c.AmbiguousAttempts, c.DuplicatesBeyond, c.OrderViolations, c.StuckRows)
	}
	for _, r := range results {
		fmt.Fprintf(&b, "\n### %s\n\n", modeTitle(r.Mode))
		if r.Command != "" {
			fmt.Fprintf(&b, "`%s`\n\n", r.Command)
		}
		e := r.Emulator
		fmt.Fprintf(&b, "%d users, %d groups, %g updates/s; bot features found: %s. Emulator: %g/s global, %g/s per private chat, %g/min per group (burst %d)",
			r.Users, r.Groups, r.Rate, r.Features, e.Limits.GlobalPerSecond, e.Limits.PrivatePerSecond, e.Limits.GroupPerMinute, e.Limits.Burst)
		if e.ErrorRate+e.PhantomRate+e.DropRate > 0 || e.LatencyMaxMs > 0 {
			fmt.Fprintf(&b, "; faults %.0f%% 5xx, %.0f%% phantom (delivered, answered 500), %.0f%% dropped connections, %g–%g ms latency",
				100*e.ErrorRate, 100*e.PhantomRate, 100*e.DropRate, e.LatencyMinMs, e.LatencyMaxMs)
		}
		if e.ForbiddenUsers > 0 {
			fmt.Fprintf(&b, "; %d users answer 403", e.ForbiddenUsers)
		}
		if e.Migrations > 0 {
			fmt.Fprintf(&b, "; %d group migrated to a supergroup mid-run", e.Migrations)
		}
		b.WriteString(".\n\n")
		fmt.Fprintf(&b, "- reply latency (push → tagged reply delivered, %d replies): p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms",
			r.Latency.Count, r.Latency.P50Ms, r.Latency.P95Ms, r.Latency.P99Ms, r.Latency.MaxMs)
		if r.LatencyPrivate.Count > 0 && r.LatencyGroup.Count > 0 {
			fmt.Fprintf(&b, "; private chats p95 %.0f ms, groups p95 %.0f ms (groups are paced at 20 messages a minute)",
				r.LatencyPrivate.P95Ms, r.LatencyGroup.P95Ms)
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "- %d updates handled (%.1f/s, peak %d/s, %d failed); %d messages sent (%.1f/s, peak %d/s), %d of them reminders that fell due during the run; %d attempts, %d retries, %d 429s received, %d dropped on purpose (blocked/removed), %d faults injected\n",
			r.Updates.Handled, r.Updates.PerSecond, r.Updates.PeakPerSecond, r.Updates.Failed, r.Sending.Messages, r.Sending.PerSecond,
			r.Sending.PeakPerSecond, r.Sending.Reminders, r.Sending.Attempts, r.Sending.Retries, r.Sending.TooManyReceived, r.Sending.Dropped, r.Sending.InjectedFaults)
		if r.Bot.Kills > 0 {
			fmt.Fprintf(&b, "- %d SIGKILLs (%d starts), the bot resumed every time; final graceful stop exited %d\n", r.Bot.Kills, r.Bot.Starts, r.Bot.ExitCode)
		}
		if sp := r.Spike; sp != nil {
			fmt.Fprintf(&b, "- spike: %d bulk messages queued at once drained in %.1f s at **%.1f messages/s = %.1f%% of the %g/s limit**, with **%d 429s**; replies to users who wrote meanwhile: p50 %.0f ms, p95 %.0f ms, max %.0f ms (%d replies)\n",
				sp.Messages, sp.DrainSecs, sp.SentPerSecond, sp.PercentOfLimit, r.BotLimit.GlobalPerSecond, sp.TooManyDuring,
				sp.Interactive.P50Ms, sp.Interactive.P95Ms, sp.Interactive.MaxMs, sp.Interactive.Count)
		}
		if len(r.Ramp) > 0 {
			b.WriteString("\nJudged on replies in private chats (groups are paced at 20 messages a minute each on purpose; their p95 is shown for information).\n\n| rate asked /s | pushed /s | sent /s | private p50 | private p95 | group p95 | 429s | verdict |\n|--:|--:|--:|--:|--:|--:|--:|---|\n")
			for _, st := range r.Ramp {
				v := "ok"
				if !st.Pass {
					v = "**pushback**"
				}
				fmt.Fprintf(&b, "| %.1f | %.1f | %.1f | %.0f ms | %.0f ms | %.0f ms | %d | %s |\n", st.Rate, st.Pushed, st.SentPerSecond, st.P50Ms, st.P95Ms, st.GroupP95Ms, st.TooMany, v)
			}
		}
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "- problem: %s\n", p)
		}
		fmt.Fprintf(&b, "\n![%s: messages sent per second against the limit, and outbox depth](%s/load-%s.svg)\n", r.Mode, charts, r.Mode)
	}
	return b.String()
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "**FAIL**"
}

func modeTitle(m load.Mode) string {
	switch m {
	case load.Steady:
		return "Steady"
	case load.Ramp:
		return "Ramp (until the bot or the emulator pushes back)"
	case load.Spike:
		return "Spike (bulk messages queued at once, users still talking)"
	case load.Chaos:
		return "Chaos (SIGKILLs and injected faults under load)"
	}
	return string(m)
}
