package store

import "time"

// ZoneOr is the location of an IANA time zone name as stored in a row
// (events, polls, series, chats), or fallback when the name is empty or
// this build does not know it (a zone renamed since it was stored).
func ZoneOr(name string, fallback *time.Location) *time.Location {
	if name != "" {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc
		}
	}
	return fallback
}
