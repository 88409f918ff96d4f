package report

import (
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/cmd/rsvpload/internal/load"
)

const benchOut = `goos: linux
goarch: amd64
pkg: github.com/rsvpbot/rsvpbot/handlers
cpu: AMD EPYC
BenchmarkUpdatePipeline-2   	    2882	    401371 ns/op	       599.0 p50-ms	      2491 updates/s	   16040 B/op	     288 allocs/op
PASS
ok  	github.com/rsvpbot/rsvpbot/handlers	1.387s
pkg: github.com/rsvpbot/rsvpbot/outbox
BenchmarkSenderThroughput-2 	     100	  12000000 ns/op
BenchmarkSomething log line that is not a result
pkg: github.com/rsvpbot/rsvpbot/ops
BenchmarkAPIPostMessage/sending/clients=4xCPU-2 	    2827	    549814 ns/op	      1819 req/s
pkg: github.com/rsvpbot/rsvpbot/weather
BenchmarkParseArgs-2 	 1000000	      1043 ns/op	     120 B/op	       3 allocs/op
`

func TestParseBenchAndAreas(t *testing.T) {
	bs, err := ParseBench(strings.NewReader(benchOut))
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 4 {
		t.Fatalf("%d benchmarks: %+v", len(bs), bs)
	}
	b := bs[0]
	if bs[2].Name != "APIPostMessage/sending/clients=4xCPU" {
		t.Errorf("sub-benchmark name %q", bs[2].Name)
	}
	if b.Name != "UpdatePipeline" || b.Iterations != 2882 || len(b.Metrics) != 5 || b.Metrics[2] != (Metric{2491, "updates/s"}) {
		t.Fatalf("first: %+v", b)
	}
	as := areas()
	for i, want := range []string{"intake", "outbox", "api", "other"} {
		if got := areaOf(bs[i], as); got != want {
			t.Errorf("%s: area %s, want %s", bs[i].Name, got, want)
		}
	}
}

// A second report rewrites the generated blocks and keeps whatever was
// merged by hand around them.
func TestMergeKeepsHandWrittenText(t *testing.T) {
	bs, _ := ParseBench(strings.NewReader(benchOut))
	res := &load.Result{Mode: load.Chaos, OK: true, Command: "rsvpload -mode chaos", LoadSecs: 120}
	res.Bot.Kills = 12
	blocks := Blocks(MachineInfo{CPUs: 2, CPUModel: "Test CPU", When: time.Unix(0, 0)}, "make bench", time.Minute, bs, []*load.Result{res}, "charts")
	doc := Merge("", blocks)
	for _, want := range []string{"## Intake", "## Outbox", "## Events", "## Reminders", "## API", "## Load runs",
		"UpdatePipeline", "2 × Test CPU", "`rsvpload -mode chaos`", "charts/load-chaos.svg", "| chaos | pass |"} {
		if !strings.Contains(doc, want) {
			t.Errorf("first report lacks %q", want)
		}
	}
	merged := strings.Replace(doc, "_None merged yet._", "Outbox owner: 1234 msgs/s on a laptop.", 2)
	res.OK = false
	doc2 := Merge(merged, Blocks(MachineInfo{CPUs: 2}, "make bench", 0, nil, []*load.Result{res}, "charts"))
	if !strings.Contains(doc2, "Outbox owner: 1234 msgs/s on a laptop.") {
		t.Fatal("hand-merged figures were lost")
	}
	if strings.Contains(doc2, "UpdatePipeline") || !strings.Contains(doc2, "| chaos | **FAIL** |") {
		t.Fatal("generated blocks were not rewritten")
	}
	if strings.Count(doc2, "<!-- rsvpload:begin load -->") != 1 {
		t.Fatal("a block was duplicated")
	}
}
