// Package outbox is rsvpbot's transactional outbox and rate-limited sender.
package outbox
