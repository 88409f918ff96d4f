// Package tgtext is the one owner of Telegram message text: how Telegram
// parses HTML, how it measures text, and how rsvpbot makes text fit
// Telegram's limits.
//
// Telegram counts a message's length in UTF-16 code units of the text as
// shown, after parse_mode=HTML has turned tags into entities and &lt; into
// '<'. Its limits are [MaxMessage] (sendMessage, editMessageText),
// [MaxCaption] (captions) and [MaxCallbackAnswer] (answerCallbackQuery); a
// call over them is refused with 400 and can never succeed on retry.
//
// Two kinds of shortening live here, each with one owner:
//
//   - [Echo] shortens what a user typed before a reply quotes it ("I don't
//     know the time zone “…”"), so no input can blow up a reply. Every
//     handler that repeats user input calls it; [Shorten] is the rune cut
//     underneath, for names and titles shown in lists.
//   - [Split] and [Cut] make a whole message fit: Split breaks a long
//     message into several at paragraph, line or word boundaries, Cut
//     shortens it and marks the cut with "…". Both keep HTML valid: a tag
//     open at a break is closed at the end of one part and opened again at
//     the start of the next. The outbox applies them to every call before
//     it is queued (outbox/limits.go).
//
// [ParseHTML] is Telegram's HTML parse mode (its rules follow tdlib's
// parse_html): the supported tags become entities and malformed markup is
// refused with an [Error] carrying Telegram's own reason. One tokenizer
// serves it, [Len], [Split] and [Cut], so the message API's validation
// (ops), bottest's fake Bot API and the outbox's limit checks read markup
// the same way Telegram does. [Escape] makes a value safe inside HTML, and
// [UTF16Len] is the unit of every limit and entity offset.
package tgtext
