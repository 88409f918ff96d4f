package bottest

import (
	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/tghtml"
)

// parseHTML implements Telegram's parse_mode=HTML: the supported tags become
// entities (offsets in UTF-16 units) and the text loses its markup. The
// rules, and the refusals worded like Telegram's, are package tghtml's: the
// message API validates with the same parser.
func parseHTML(src string) (string, []models.MessageEntity, error) {
	return tghtml.Parse(src)
}
