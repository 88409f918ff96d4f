package bottest

import "net/http"

// Outage makes the whole Bot API unreachable, as when Telegram or the
// network to it is down: every call (any method, any chat, getMe and
// getUpdates included) fails without effect until EndOutage. Drop (the
// default) closes the connection without an answer; a Status (e.g. 502)
// answers that instead, as a failing front end does.
type Outage struct {
	Status int // 0: drop the connection
}

// StartOutage begins an outage (replacing one in progress).
func (s *Server) StartOutage(o Outage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = &o
}

// EndOutage ends the outage: calls are served again.
func (s *Server) EndOutage() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = nil
}

// outageReply is the answer during an outage (under s.mu); ok is false
// when there is none.
func (s *Server) outageReply() (rep reply, ok bool) {
	if s.outage == nil {
		return reply{}, false
	}
	if s.outage.Status == 0 {
		return reply{drop: true, injected: "outage"}, true
	}
	return reply{status: s.outage.Status, desc: http.StatusText(s.outage.Status), injected: "outage"}, true
}
