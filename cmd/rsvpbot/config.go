package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rsvpbot/rsvpbot/app"
	"github.com/rsvpbot/rsvpbot/scheduler"
	"github.com/rsvpbot/rsvpbot/store"
)

// Config is everything the bot reads from its environment. The variable
// names are a contract with operators and test harnesses: do not rename.
type Config struct {
	Token         string
	APIURL        string
	DB            string
	Admins        []int64
	HTTPAddr      string
	APIToken      string
	WebhookURL    string
	WebhookSecret string
	RateGlobal    float64 // messages per second, 0 = unlimited
	RateChat      float64 // messages per second per private chat
	RateGroup     float64 // messages per minute per group
	Reminders     []time.Duration
	Timezone      *time.Location
	GeocodingURL  string
	ForecastURL   string
	LogFormat     string // "", text or json ("" = text on a terminal, json otherwise)
	LogLevel      string
	WebhookPath   string // path part of WebhookURL, served on HTTPAddr
	// LedgerRetention is how long ledger rows are kept; 0 keeps them.
	LedgerRetention time.Duration
	// FloodUser and FloodChat are the flood budgets, commands per minute
	// per user and per group (handlers.FloodConfig); 0 = off.
	FloodUser float64
	FloodChat float64
	// PublicURL is the public base URL of the ops server (no trailing
	// slash); set, it enables calendar feeds at PublicURL/cal/<token>.ics.
	PublicURL string
	// BackupDir, if set, receives a backup every BackupEvery (scheduled
	// backups); "" disables them.
	BackupDir   string
	BackupEvery time.Duration
}

// envVar documents one variable for --help and the README.
type envVar struct {
	name, def, help string
}

var envVars = []envVar{
	{"TELEGRAM_BOT_TOKEN", "(required)", "bot token from @BotFather"},
	{"TELEGRAM_API_URL", "https://api.telegram.org", "Bot API server (a local emulator in tests)"},
	{"RSVPBOT_DB", "data/rsvpbot.db", "SQLite database file (its directory is created), or postgres://user:password@host:5432/db?sslmode=... for PostgreSQL (several replicas may share it)"},
	{"RSVPBOT_ADMINS", "", "comma-separated Telegram user ids of bot admins (/stats)"},
	{"RSVPBOT_HTTP_ADDR", "127.0.0.1:8080", "ops server: /healthz /readyz /metrics, the message API and the webhook; empty disables"},
	{"RSVPBOT_API_TOKEN", "", "bearer token that enables the message API (/v1/...); at least 16 characters"},
	{"RSVPBOT_WEBHOOK_URL", "", "public https URL of the webhook; set = webhook mode, empty = long polling"},
	{"RSVPBOT_WEBHOOK_SECRET", "", "secret_token Telegram sends with each webhook call (required in webhook mode; 1-256 of A-Z a-z 0-9 _ -)"},
	{"RSVPBOT_PUBLIC_URL", "", "public base URL at which the ops server is reached (e.g. https://bot.example.com); enables calendar feeds (/calendar) at <URL>/cal/<token>.ics"},
	{"RSVPBOT_RATE_GLOBAL", "30", "messages per second overall (0 = unlimited)"},
	{"RSVPBOT_RATE_CHAT", "1", "messages per second to one private chat"},
	{"RSVPBOT_RATE_GROUP", "20", "messages per minute to one group"},
	{"RSVPBOT_REMINDERS", "24h,1h", "default reminder offsets before an event (Go durations, d for days, or off)"},
	{"RSVPBOT_TIMEZONE", "UTC", "default IANA time zone of chats (e.g. Europe/Berlin)"},
	{"OPEN_METEO_GEOCODING_URL", "https://geocoding-api.open-meteo.com/v1/search", "Open-Meteo geocoding endpoint"},
	{"OPEN_METEO_FORECAST_URL", "https://api.open-meteo.com/v1/forecast", "Open-Meteo forecast endpoint"},
	{"RSVPBOT_LEDGER_RETENTION", "90d", "how long the outbox ledger keeps each attempt (e.g. 30d, 720h; off keeps everything)"},
	{"RSVPBOT_FLOOD_USER", "20/min", "commands one user may send a minute before the bot stops answering them (told once when to try again; 0 or off disables)"},
	{"RSVPBOT_FLOOD_CHAT", "20/min", "commands answered in one group a minute, quiet members first (0 or off disables); at most RSVPBOT_RATE_GROUP makes sense"},
	{"RSVPBOT_BACKUP_DIR", "", "directory for scheduled backups (rsvpbot-<UTC time>.db, the newest 7 kept); empty disables them"},
	{"RSVPBOT_BACKUP_EVERY", "(24h with RSVPBOT_BACKUP_DIR)", "how often a scheduled backup is taken (e.g. 6h, 1d; at least 1m)"},
	{"LOG_FORMAT", "auto", "text (coloured, for terminals) or json; auto picks text on a terminal"},
	{"LOG_LEVEL", "info", "debug, info, warn or error"},
}

// ConfigError names the variable at fault; main prints it and exits 2.
type ConfigError struct {
	Var, Problem string
}

func (e *ConfigError) Error() string { return e.Var + ": " + e.Problem }

var (
	tokenRe  = regexp.MustCompile(`^[0-9]+:[A-Za-z0-9_-]+$`)
	secretRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
)

// LoadConfig reads and validates the configuration. lookupEnv is os.LookupEnv in
// production and a map in tests. requireToken is false for subcommands that
// only touch the database (migrate, outbox).
func LoadConfig(lookupEnv func(string) (string, bool), requireToken bool) (*Config, error) {
	get := func(name string) string {
		for _, v := range envVars {
			if v.name == name {
				if s, _ := lookupEnv(name); strings.TrimSpace(s) != "" {
					return strings.TrimSpace(s)
				}
				if strings.HasPrefix(v.def, "(") || v.def == "auto" {
					return ""
				}
				return v.def
			}
		}
		panic("undeclared variable " + name) // programming error, caught by tests
	}
	bad := func(name, format string, args ...any) error {
		return &ConfigError{Var: name, Problem: fmt.Sprintf(format, args...)}
	}

	c := &Config{}
	c.Token = get("TELEGRAM_BOT_TOKEN")
	switch {
	case c.Token == "" && requireToken:
		return nil, bad("TELEGRAM_BOT_TOKEN", "is not set; get a token from @BotFather (see README)")
	case c.Token != "" && !tokenRe.MatchString(c.Token):
		return nil, bad("TELEGRAM_BOT_TOKEN", "does not look like a bot token (expected digits, a colon, then letters, digits, _ or -)")
	}

	var err error
	if c.APIURL, err = httpURL(get("TELEGRAM_API_URL")); err != nil {
		return nil, bad("TELEGRAM_API_URL", "%v", err)
	}
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	c.DB = get("RSVPBOT_DB")
	if store.IsPostgresURL(c.DB) {
		if err := store.CheckURL(c.DB); err != nil {
			return nil, bad("RSVPBOT_DB", "%v", err)
		}
	} else if fi, err := os.Stat(c.DB); err == nil && fi.IsDir() {
		return nil, bad("RSVPBOT_DB", "%q is a directory; give the path of the database file (e.g. %s)", c.DB, filepath.Join(c.DB, "rsvpbot.db"))
	}

	if s := get("RSVPBOT_ADMINS"); s != "" {
		for _, f := range strings.Split(s, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			id, err := strconv.ParseInt(f, 10, 64)
			if err != nil || id <= 0 {
				return nil, bad("RSVPBOT_ADMINS", "%q is not a Telegram user id (a positive number); separate ids with commas", f)
			}
			if !slices.Contains(c.Admins, id) {
				c.Admins = append(c.Admins, id)
			}
		}
	}

	// An explicitly empty RSVPBOT_HTTP_ADDR disables the server, so it is
	// read without the default when the variable is set.
	c.HTTPAddr = get("RSVPBOT_HTTP_ADDR")
	if v, set := lookupEnv("RSVPBOT_HTTP_ADDR"); set {
		c.HTTPAddr = strings.TrimSpace(v)
	}
	if c.HTTPAddr != "" {
		if _, port, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			return nil, bad("RSVPBOT_HTTP_ADDR", "%q is not host:port (e.g. 127.0.0.1:8080)", c.HTTPAddr)
		} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			return nil, bad("RSVPBOT_HTTP_ADDR", "port %q is not a number from 0 to 65535", port)
		}
	}

	c.APIToken = get("RSVPBOT_API_TOKEN")
	if c.APIToken != "" && len(c.APIToken) < 16 {
		return nil, bad("RSVPBOT_API_TOKEN", "is too short (%d characters); use at least 16 random characters", len(c.APIToken))
	}
	if c.APIToken != "" && c.HTTPAddr == "" {
		return nil, bad("RSVPBOT_API_TOKEN", "is set but RSVPBOT_HTTP_ADDR is empty, so the message API has nowhere to listen")
	}

	c.WebhookURL = get("RSVPBOT_WEBHOOK_URL")
	c.WebhookSecret = get("RSVPBOT_WEBHOOK_SECRET")
	if c.WebhookURL != "" {
		u, err := httpURL(c.WebhookURL)
		if err != nil {
			return nil, bad("RSVPBOT_WEBHOOK_URL", "%v", err)
		}
		pu, _ := url.Parse(u)
		c.WebhookPath = pu.Path
		if c.WebhookPath == "" || c.WebhookPath == "/" {
			return nil, bad("RSVPBOT_WEBHOOK_URL", "needs a path (e.g. https://bot.example.com/telegram/webhook) so it does not clash with the ops endpoints")
		}
		if c.HTTPAddr == "" {
			return nil, bad("RSVPBOT_WEBHOOK_URL", "is set but RSVPBOT_HTTP_ADDR is empty; the webhook is served on RSVPBOT_HTTP_ADDR")
		}
		if c.WebhookSecret == "" {
			return nil, bad("RSVPBOT_WEBHOOK_SECRET", "must be set in webhook mode, so that only Telegram can post updates")
		}
	}
	if c.WebhookSecret != "" && !secretRe.MatchString(c.WebhookSecret) {
		return nil, bad("RSVPBOT_WEBHOOK_SECRET", "may hold only A-Z, a-z, 0-9, _ and - (1 to 256 characters)")
	}

	if c.PublicURL, err = publicURL(get("RSVPBOT_PUBLIC_URL")); err != nil {
		return nil, bad("RSVPBOT_PUBLIC_URL", "%v", err)
	}
	if c.PublicURL != "" && c.HTTPAddr == "" {
		return nil, bad("RSVPBOT_PUBLIC_URL", "is set but RSVPBOT_HTTP_ADDR is empty; calendar feeds are served on RSVPBOT_HTTP_ADDR")
	}

	if c.RateGlobal, err = parseRate(get("RSVPBOT_RATE_GLOBAL"), time.Second); err != nil {
		return nil, bad("RSVPBOT_RATE_GLOBAL", "%v; use messages per second, e.g. 30", err)
	}
	if c.RateChat, err = parseRate(get("RSVPBOT_RATE_CHAT"), time.Second); err != nil {
		return nil, bad("RSVPBOT_RATE_CHAT", "%v; use messages per second, e.g. 1", err)
	}
	if c.RateGroup, err = parseRate(get("RSVPBOT_RATE_GROUP"), time.Minute); err != nil {
		return nil, bad("RSVPBOT_RATE_GROUP", "%v; use messages per minute, e.g. 20", err)
	}

	if c.FloodUser, err = parseFlood(get("RSVPBOT_FLOOD_USER")); err != nil {
		return nil, bad("RSVPBOT_FLOOD_USER", "%v; use commands per minute, e.g. 20/min, or off", err)
	}
	if c.FloodChat, err = parseFlood(get("RSVPBOT_FLOOD_CHAT")); err != nil {
		return nil, bad("RSVPBOT_FLOOD_CHAT", "%v; use commands per minute, e.g. 20/min, or off", err)
	}

	if c.Reminders, err = scheduler.ParseOffsets(get("RSVPBOT_REMINDERS")); err != nil {
		return nil, bad("RSVPBOT_REMINDERS", "%v; use durations like 24h,1h or 30m, or off", err)
	}

	if c.LedgerRetention, err = parseRetention(get("RSVPBOT_LEDGER_RETENTION")); err != nil {
		return nil, bad("RSVPBOT_LEDGER_RETENTION", "%v; use days like 90d, hours like 720h, or off", err)
	}

	if c.BackupDir, c.BackupEvery, err = backupConfig(get("RSVPBOT_BACKUP_DIR"), get("RSVPBOT_BACKUP_EVERY"), requireToken); err != nil {
		return nil, err
	}
	if c.BackupDir != "" && store.IsPostgresURL(c.DB) {
		return nil, bad("RSVPBOT_BACKUP_DIR", "scheduled backups copy an SQLite file; back PostgreSQL up with pg_dump or your provider's snapshots, and unset it")
	}

	tz := get("RSVPBOT_TIMEZONE")
	if c.Timezone, err = time.LoadLocation(tz); err != nil || strings.EqualFold(tz, "local") {
		return nil, bad("RSVPBOT_TIMEZONE", "%q is not a known IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)", tz)
	}

	if c.GeocodingURL, err = httpURL(get("OPEN_METEO_GEOCODING_URL")); err != nil {
		return nil, bad("OPEN_METEO_GEOCODING_URL", "%v", err)
	}
	if c.ForecastURL, err = httpURL(get("OPEN_METEO_FORECAST_URL")); err != nil {
		return nil, bad("OPEN_METEO_FORECAST_URL", "%v", err)
	}

	c.LogFormat = strings.ToLower(get("LOG_FORMAT"))
	if c.LogFormat == "auto" {
		c.LogFormat = ""
	}
	if c.LogFormat != "" && c.LogFormat != "text" && c.LogFormat != "json" {
		return nil, bad("LOG_FORMAT", "%q is not text or json", c.LogFormat)
	}
	c.LogLevel = strings.ToLower(get("LOG_LEVEL"))
	if _, err := parseLevel(c.LogLevel); err != nil {
		return nil, bad("LOG_LEVEL", "%v", err)
	}
	return c, nil
}

func httpURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) URL", s)
	}
	return s, nil
}

// publicURL checks RSVPBOT_PUBLIC_URL: empty, or an http(s) URL with a
// host and at most a path (no query, fragment or user info), returned
// without its trailing slash.
func publicURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if _, err := httpURL(s); err != nil {
		return "", err
	}
	u, _ := url.Parse(s)
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.HasSuffix(s, "?") || strings.Contains(s, "#") {
		return "", fmt.Errorf("%q must be a base URL such as https://bot.example.com or https://example.com/rsvpbot, without a query, fragment or user", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// parseRate reads "30", "30/s", "20/min", "1200/h" and returns messages per
// per (the unit a bare number is in). Zero means unlimited.
func parseRate(s string, per time.Duration) (float64, error) {
	num, unit, hasUnit := strings.Cut(strings.ReplaceAll(s, " ", ""), "/")
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || v != v || v > 1e6 {
		return 0, fmt.Errorf("%q is not a non-negative number", s)
	}
	if !hasUnit {
		return v, nil
	}
	var d time.Duration
	switch strings.ToLower(unit) {
	case "s", "sec", "second":
		d = time.Second
	case "m", "min", "minute":
		d = time.Minute
	case "h", "hour":
		d = time.Hour
	default:
		return 0, fmt.Errorf("%q has an unknown unit %q (use /s, /min or /h)", s, unit)
	}
	return v * float64(per) / float64(d), nil
}

// parseRetention reads "90d", "720h" or "off" (0: keep everything).
func parseRetention(s string) (time.Duration, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "off" {
		return 0, nil
	}
	d, err := scheduler.ParseDuration(s)
	if err != nil || d < time.Hour || d > 100*365*24*time.Hour {
		return 0, fmt.Errorf("%q is not a duration of at least 1h", s)
	}
	return d, nil
}

// parseFlood reads a flood budget: "20/min", "1/s", "600/h", a bare number
// of commands per minute, or "off"/"0" (0: disabled). A budget under one
// command an hour is refused: it would silence everyone.
func parseFlood(s string) (float64, error) {
	if strings.EqualFold(strings.TrimSpace(s), "off") {
		return 0, nil
	}
	v, err := parseRate(s, time.Minute)
	if err != nil {
		return 0, err
	}
	if v > 0 && v < 1.0/60 {
		return 0, fmt.Errorf("%q is less than one command an hour", s)
	}
	return v, nil
}

// backupConfig checks the scheduled backups' settings: a period needs a
// directory; the period is at least a minute. When the bot is to run
// (checkDir), the directory is created if missing and must take a file,
// so that a wrong one stops the bot at start rather than at the first
// backup, hours later.
func backupConfig(dir, every string, checkDir bool) (string, time.Duration, error) {
	bad := func(name, format string, args ...any) error {
		return &ConfigError{Var: name, Problem: fmt.Sprintf(format, args...)}
	}
	if dir == "" {
		if every != "" {
			return "", 0, bad("RSVPBOT_BACKUP_EVERY", "is set but RSVPBOT_BACKUP_DIR is empty; set the directory the backups go to")
		}
		return "", 0, nil
	}
	d := app.DefaultBackupEvery
	if every != "" {
		var err error
		d, err = scheduler.ParseDuration(every)
		if err != nil || d < time.Minute || d > 366*24*time.Hour {
			return "", 0, bad("RSVPBOT_BACKUP_EVERY", "%q is not a period from 1m to 366d; use e.g. 6h or 1d", every)
		}
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return "", 0, bad("RSVPBOT_BACKUP_DIR", "%q is not a directory", dir)
	}
	if checkDir {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return "", 0, bad("RSVPBOT_BACKUP_DIR", "cannot create %q: %v", dir, errors.Unwrap(err))
		}
		f, err := os.CreateTemp(dir, ".rsvpbot-write-probe-*")
		if err != nil {
			return "", 0, bad("RSVPBOT_BACKUP_DIR", "cannot write in %q: %v", dir, errors.Unwrap(err))
		}
		f.Close()
		os.Remove(f.Name())
	}
	return dir, d, nil
}
