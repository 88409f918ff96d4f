// Package scheduler runs everything that happens because time passed:
// reminders falling due, the next occurrence of a recurring series, and
// housekeeping. robfig/cron only ticks; schedules are read by package
// recurrence, which also says when a series' next slot is. What is due
// lives in SQLite, so nothing is lost across restarts.
package scheduler
