package message

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func hops(n int, name string) string {
	return strings.Repeat(name+" from a by b;\r\n\tMon, 1 Jan 2024 00:00:00 +0000\r\n", n)
}

func TestLimitHops(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
		loop      bool
	}{
		{"at the limit", hops(MaxHops, "Received:") + "Subject: x\r\n\r\nbody\r\n", false},
		{"over the limit", hops(MaxHops+1, "Received:") + "\r\nbody\r\n", true},
		{"any case", hops(MaxHops+1, "rECEIVED:"), true},
		{"in the body", "Subject: x\r\n\r\n" + hops(200, "Received:"), false},
		{"not at a line start", hops(200, "X-Received:") + hops(200, " Received:"), false},
		{"other field", hops(200, "Received-SPF:") + hops(200, "Receive:"), false},
	} {
		// One octet a read: a field name split across reads still counts.
		got, err := io.ReadAll(LimitHops(iotest.OneByteReader(strings.NewReader(tc.msg))))
		if tc.loop != errors.Is(err, ErrLoop) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
		if !tc.loop && string(got) != tc.msg {
			t.Errorf("%s: message changed", tc.name)
		}
	}
}
