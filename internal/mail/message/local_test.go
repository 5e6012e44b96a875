package message

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestQualifyAddresses(t *testing.T) {
	in := "From: root (Cron Daemon)\r\nTo: root, Carol <carol>, dave@example.net\r\nCc: \"Ops, team\" <ops>\r\n" +
		"Bcc: undisclosed-recipients:;\r\nReply-To: admin@example.net\r\nSubject: root\r\n\r\n"
	h, err := ReadHeader(bufioReader([]byte(in)))
	if err != nil {
		t.Fatal(err)
	}
	h.QualifyAddresses("example.org")
	var b strings.Builder
	h.WriteTo(&b)
	want := "From: root@example.org (Cron Daemon)\r\nTo: root@example.org, Carol <carol@example.org>, dave@example.net\r\n" +
		"Cc: \"Ops, team\" <ops@example.org>\r\nBcc: undisclosed-recipients:;\r\nReply-To: admin@example.net\r\nSubject: root\r\n\r\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestLocalize(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	l := Local{From: "cron@example.org", QualifyDomain: "example.org", Hostname: "host.example.org", Now: now}
	b, _ := io.ReadAll(Localize(strings.NewReader("To: root\r\nSubject: x\r\n\r\nbody\r\n"), l))
	got := string(b)
	for _, want := range []string{"To: root@example.org\r\n", "From: <cron@example.org>\r\n", "Date: Tue, 01 Dec 2026 12:00:00 +0000\r\n",
		"Message-ID: <1796126400.", "@host.example.org>\r\n", "\r\n\r\nbody\r\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
	// A read error in the header reaches the reader's caller.
	if _, err := io.ReadAll(Localize(Normalize(strings.NewReader("To: root\x00\r\n\r\n")), l)); err != ErrNUL {
		t.Errorf("NUL in the header: %v", err)
	}
	// A complete header passes unchanged, and so does what has no header end.
	for _, in := range []string{
		"From: a@example.org\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n",
		"To: root\r\nno blank line",
		"To: root\r\nnot a field\r\n\r\n",
	} {
		if b, _ := io.ReadAll(Localize(strings.NewReader(in), l)); string(b) != in {
			t.Errorf("Localize(%q) = %q", in, b)
		}
	}
}
