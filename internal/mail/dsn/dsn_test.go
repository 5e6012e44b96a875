package dsn

import (
	"bufio"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"
)

func TestBuild(t *testing.T) {
	orig := "Subject: report\r\nX-Long: " + strings.Repeat("y", 100) + "\r\n\r\nsecret body\r\n"
	msg := Build(&Report{Hostname: "relay.test", To: "cron@example.org", MessageID: "ABC", Arrival: time.Unix(0, 0),
		Failed: []Failed{{Addr: "a@example.net", Orig: "team@example.org", Reason: "smarthost answered RCPT with 550 no such user", Code: 550},
			{Addr: "b@example.net", Reason: "gave up after 5d", Code: 451}},
		Original: strings.NewReader(orig)}, time.Unix(100, 0))
	m, err := mail.ReadMessage(strings.NewReader(string(msg)))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("content type %q %v", m.Header.Get("Content-Type"), err)
	}
	if m.Header.Get("Auto-Submitted") != "auto-replied" {
		t.Error("no Auto-Submitted")
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var types, bodies []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(bufio.NewReader(p))
		types = append(types, p.Header.Get("Content-Type"))
		bodies = append(bodies, string(b))
	}
	if len(types) != 3 || types[1] != "message/delivery-status" || types[2] != "text/rfc822-headers" {
		t.Fatalf("parts %q", types)
	}
	for _, want := range []string{"Original-Recipient: rfc822; team@example.org", "Final-Recipient: rfc822; a@example.net",
		"Status: 5.0.0", "Diagnostic-Code: smtp; smarthost answered RCPT with 550 no such user", "Status: 4.4.7"} {
		if !strings.Contains(bodies[1], want) {
			t.Errorf("status part lacks %q:\n%s", want, bodies[1])
		}
	}
	if !strings.Contains(bodies[2], "Subject: report") || strings.Contains(bodies[2], "secret body") {
		t.Errorf("headers part:\n%s", bodies[2])
	}
}
