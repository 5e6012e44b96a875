package message

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func normalize(t *testing.T, in string) (string, error) {
	t.Helper()
	b, err := io.ReadAll(Normalize(strings.NewReader(in)))
	return string(b), err
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a\nb\n", "a\r\nb\r\n"},
		{"a\r\nb", "a\r\nb\r\n"},
		{"a\rb\r", "a\r\nb\r\n"},
		{"", ""},
		{"\n", "\r\n"},
		{strings.Repeat("x", 998) + "\n", strings.Repeat("x", 998) + "\r\n"},
	} {
		got, err := normalize(t, tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := normalize(t, strings.Repeat("x", 999)); !errors.Is(err, ErrLongLine) {
		t.Errorf("999 octets: %v", err)
	}
	if _, err := normalize(t, "a\x00b"); !errors.Is(err, ErrNUL) {
		t.Errorf("NUL: %v", err)
	}
}

func TestHeaderSendmailT(t *testing.T) {
	in, _ := normalize(t, "To: alice, \"Bob, B.\" <bob@example.net>\nCc: undisclosed-recipients:;\nBcc: eve@example.net,\n frank\nSubject: hi\n\nbody\n")
	br := bufio.NewReader(strings.NewReader(in))
	h, err := ReadHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := h.Recipients()
	if err != nil || strings.Join(rc, " ") != "alice bob@example.net eve@example.net frank" {
		t.Fatalf("Recipients = %v, %v", rc, err)
	}
	h.Del("bcc")
	h.Complete("root@example.org", "Cron", "relay.test", time.Unix(0, 0))
	var out strings.Builder
	h.WriteTo(&out)
	rest, _ := io.ReadAll(br)
	got := out.String() + string(rest)
	for _, want := range []string{"From: \"Cron\" <root@example.org>\r\n", "Date: Thu, 01 Jan 1970", "Message-ID: <0.", "\r\n\r\nbody\r\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "eve@") {
		t.Errorf("Bcc kept:\n%s", got)
	}
}

func TestHeaderNoHeader(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("just a body line\r\n"))
	h, err := ReadHeader(br)
	if err != nil || len(h.fields) != 0 {
		t.Fatalf("%v %v", h, err)
	}
	if rest, _ := io.ReadAll(br); string(rest) != "just a body line\r\n" {
		t.Fatalf("body consumed: %q", rest)
	}
}

// FuzzSendmailT runs what `sendmail -t` does on arbitrary input: it must
// not panic, and Bcc must be gone from what is written.
func FuzzSendmailT(f *testing.F) {
	f.Add("To: a, b@c\nBcc: d\nSubject: x\n\nbody\n")
	f.Add("To: \"x, y\" <z@w>\n  , q\n\n")
	f.Add("From nobody\n\n")
	f.Add("bcc: x\r\nBCC: y\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		br := bufio.NewReader(Normalize(strings.NewReader(in)))
		h, err := ReadHeader(br)
		if err != nil {
			return
		}
		h.Recipients()
		h.Del("Bcc")
		h.Complete("a@b", "n", "h", time.Unix(0, 0))
		var out strings.Builder
		h.WriteTo(&out)
		h2, err := ReadHeader(bufio.NewReader(strings.NewReader(out.String())))
		if err != nil {
			t.Fatalf("rewritten header does not parse: %v\n%q", err, out.String())
		}
		if h2.Has("Bcc") {
			t.Fatalf("Bcc left in %q", out.String())
		}
	})
}
