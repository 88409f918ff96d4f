package ops

import "testing"

// The message API's body parser: any bytes, no panic; a body it accepts
// decodes into exactly one object.
func FuzzDecodeMessageBody(f *testing.F) {
	for _, s := range []string{`{"chat_id": 42, "text": "hi"}`, ``, `null`, `[1]`, `{"chat_id": "42"}`, `{"a":1} {"b":2}`,
		`{"chat_id": 1e400}`, `{"text": "\ud800"}`, `{"chat_id": 42, "text": "hi", "x": 1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req messageRequest
		if err := decodeStrict(body, &req); err != nil && err.Error() == "" {
			t.Fatalf("an error without a message for %q", body)
		}
	})
}
