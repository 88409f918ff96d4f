package rrproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func backends(t *testing.T, n int) []*httptest.Server {
	var out []*httptest.Server
	for i := range n {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Backend", string(rune('a'+i)))
			io.WriteString(w, r.URL.Path+" "+r.Header.Get("X-Secret")+" "+string(body))
		}))
		t.Cleanup(s.Close)
		out = append(out, s)
	}
	return out
}

func post(t *testing.T, url string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/hook?x=1", strings.NewReader("update"))
	req.Header.Set("X-Secret", "s3")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Backend"), string(b)
}

// TestRoundRobin: requests go to each backend in turn, path, headers and
// body intact.
func TestRoundRobin(t *testing.T) {
	bs := backends(t, 3)
	p, err := New([]string{bs[0].URL, bs[1].URL, bs[2].URL}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Listen(p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got string
	for range 6 {
		code, who, body := post(t, s.URL)
		if code != 200 || body != "/hook s3 update" {
			t.Fatalf("%d %q", code, body)
		}
		got += who
	}
	if got != "abcabc" {
		t.Fatalf("backends in turn: %s, want abcabc", got)
	}
	for i, st := range p.Stats() {
		if st.Requests != 2 || st.Status[200] != 2 {
			t.Fatalf("backend %d: %+v", i, st)
		}
	}
}

// TestDeadBackend: a backend that does not answer costs one 502, then is
// skipped for the cooldown, then tried again; with every backend down
// each request is a 502.
func TestDeadBackend(t *testing.T) {
	bs := backends(t, 3)
	urls := []string{bs[0].URL, bs[1].URL, bs[2].URL}
	bs[1].Close()
	p, err := New(urls, Options{Cooldown: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Listen(p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var codes []int
	var who string
	for range 6 {
		code, b, _ := post(t, s.URL)
		codes = append(codes, code)
		who += b
	}
	// a, then b fails (502), then c, a, c, a while b cools down.
	if codes[1] != http.StatusBadGateway || who != "acaca" {
		t.Fatalf("codes %v, backends %q", codes, who)
	}
	time.Sleep(350 * time.Millisecond)
	seen502 := false
	for range 3 {
		if code, _, _ := post(t, s.URL); code == http.StatusBadGateway {
			seen502 = true
		}
	}
	if !seen502 {
		t.Fatal("the dead backend was not tried again after its cooldown")
	}
	if st := p.Stats()[1]; st.Failures != 2 || st.Status[http.StatusBadGateway] != 2 {
		t.Fatalf("dead backend's stats: %+v", st)
	}

	bs[0].Close()
	bs[2].Close()
	for range 4 {
		if code, _, _ := post(t, s.URL); code != http.StatusBadGateway {
			t.Fatalf("every backend down: %d, want 502", code)
		}
	}
	if tot := p.Total(); tot.Requests != 13 || tot.Status[200] != 7 {
		t.Fatalf("total %+v", tot)
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := New(nil, Options{}); err == nil {
		t.Fatal("no backends accepted")
	}
	if _, err := New([]string{"127.0.0.1:80"}, Options{}); err == nil {
		t.Fatal("a URL without scheme accepted")
	}
}
