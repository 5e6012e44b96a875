package message

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestHeaderWatcherMessageID(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{"From: a@example.org\r\nMessage-ID: <1@example.org>\r\n\r\nbody\r\nMessage-ID: <body@x>\r\n", "<1@example.org>"},
		{"Subject: x\nmessage-id:\n <folded@example.org>\n\nbody", "<folded@example.org>"},
		{"Subject: no id\r\n\r\nMessage-ID: <in-body@x>\r\n", ""},
		{"Subject: " + strings.Repeat("x", 70<<10) + "\r\nMessage-ID: <late@x>\r\n\r\n", ""},
	} {
		// One byte at a time: the blank line straddles reads.
		w := WatchHeader(iotest.OneByteReader(strings.NewReader(tc.msg)))
		out, err := io.ReadAll(w)
		if err != nil || string(out) != tc.msg {
			t.Fatalf("the message changed on its way: %v", err)
		}
		if got := w.MessageID(); got != tc.want {
			t.Errorf("MessageID of %.40q = %q, want %q", tc.msg, got, tc.want)
		}
	}
}
