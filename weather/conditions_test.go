package weather_test

import (
	"slices"
	"testing"

	"github.com/rsvpbot/rsvpbot/weather"
)

func TestConditionFor(t *testing.T) {
	want := map[int]string{
		0: "clear", 1: "mainly_clear", 2: "partly_cloudy", 3: "overcast",
		45: "fog", 48: "fog",
		51: "drizzle", 53: "drizzle", 55: "drizzle",
		56: "freezing_drizzle", 57: "freezing_drizzle",
		61: "rain", 63: "rain", 65: "rain",
		66: "freezing_rain", 67: "freezing_rain",
		71: "snow", 73: "snow", 75: "snow",
		77: "snow_grains",
		80: "rain_showers", 81: "rain_showers", 82: "rain_showers",
		85: "snow_showers", 86: "snow_showers",
		95: "thunderstorm",
		96: "thunderstorm_hail", 99: "thunderstorm_hail",
	}
	keys := weather.ConditionKeys()
	for code, key := range want {
		c := weather.ConditionFor(code)
		if c.Key != key {
			t.Errorf("ConditionFor(%d).Key = %q, want %q", code, c.Key, key)
		}
		if c.Emoji == "" {
			t.Errorf("ConditionFor(%d) has no emoji", code)
		}
		if !slices.Contains(keys, c.Key) {
			t.Errorf("ConditionFor(%d).Key %q missing from ConditionKeys", code, c.Key)
		}
		if c.MessageID() != "weather_cond_"+key {
			t.Errorf("MessageID = %q", c.MessageID())
		}
	}
	// Every key is reachable from some code (or is the fallback).
	for _, k := range keys {
		found := k == weather.ConditionUnknown
		for _, v := range want {
			found = found || v == k
		}
		if !found {
			t.Errorf("ConditionKeys lists %q, which no code maps to", k)
		}
	}
}

func TestConditionForUnknownCodes(t *testing.T) {
	for _, code := range []int{-1, 4, 10, 44, 50, 60, 100, 1 << 30} {
		c := weather.ConditionFor(code)
		if c.Key != weather.ConditionUnknown || c.Emoji == "" {
			t.Errorf("ConditionFor(%d) = %+v, want unknown with an emoji", code, c)
		}
	}
}

func TestDisplayName(t *testing.T) {
	for _, tc := range []struct {
		p    weather.Place
		want string
	}{
		{weather.Place{Name: "Berlin", Admin1: "Land Berlin", Country: "Germany"}, "Berlin, Germany"},
		{weather.Place{Name: "Paris", Admin1: "Texas", Country: "United States"}, "Paris, Texas, United States"},
		{weather.Place{Name: "Monaco", Country: "Monaco"}, "Monaco"},
		{weather.Place{Name: "Nowhere"}, "Nowhere"},
	} {
		if got := tc.p.DisplayName(); got != tc.want {
			t.Errorf("DisplayName(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestDate(t *testing.T) {
	d, err := weather.ParseDate("2024-02-28")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.AddDays(1).String(); got != "2024-02-29" {
		t.Errorf("AddDays(1) = %s", got)
	}
	if got := d.AddDays(2).String(); got != "2024-03-01" {
		t.Errorf("AddDays(2) = %s", got)
	}
	if (weather.Date{Year: 2025, Month: 2, Day: 29}).Valid() {
		t.Error("2025-02-29 reported valid")
	}
	if _, err := weather.ParseDate("2025-13-01"); err == nil {
		t.Error("ParseDate accepted month 13")
	}
	if !(weather.Date{}).IsZero() || d.IsZero() {
		t.Error("IsZero wrong")
	}
}
