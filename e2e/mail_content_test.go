package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-smtp"
)

// leaves decodes the leaf parts of a message as a mail reader does.
func leaves(t *testing.T, data []byte) []string {
	t.Helper()
	e, err := gomessage.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	err = e.Walk(func(_ []int, p *gomessage.Entity, err error) error {
		if err != nil || p.MultipartReader() != nil {
			return err
		}
		b, err := io.ReadAll(p.Body)
		out = append(out, string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func longestLine(data []byte) int {
	n := 0
	for _, l := range bytes.Split(data, []byte("\r\n")) {
		n = max(n, len(l))
	}
	return n
}

// TestLongLinesReencoded: a 5000-octet line, which cron and logwatch
// write, is accepted by sendmail and by loopback SMTP (it used to be exit
// 65 or 554: lost), and delivered RFC 5322-clean, decoding to the text
// as written.
func TestLongLinesReencoded(t *testing.T) {
	t.Parallel()
	r := newRelay(t)
	d := r.start(t)
	long := strings.Repeat("disk usage 93% on /var ", 217) + "end" // 5000 octets
	plain := "first\r\n" + long + "\r\nlast\r\n"
	multipart := "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n--XYZ\r\n" +
		"Content-Type: text/plain; charset=us-ascii\r\n\r\nshort part\r\n--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		long + "\r\n--XYZ--\r\n"

	if out, err := r.sendmail(t, "Subject: plain\n\n"+strings.ReplaceAll(plain, "\r\n", "\n"), "root"); err != nil {
		t.Fatalf("sendmail plain: %v\n%s", err, out)
	}
	if out, err := r.sendmail(t, "Subject: multipart\r\n"+multipart, "root"); err != nil {
		t.Fatalf("sendmail multipart: %v\n%s", err, out)
	}
	if err := submitSMTP(r.submit, "app@example.org", "root@example.org", ("Subject: smtp\r\n\r\n" + plain)); err != nil {
		t.Fatalf("loopback SMTP: %v", err)
	}
	msgs := r.peer.Wait(3, 30*time.Second)
	if len(msgs) != 3 {
		t.Fatalf("smarthost got %d messages\n%s", len(msgs), d.Logs())
	}
	want := map[string][]string{"plain": {plain}, "multipart": {"short part", long}, "smtp": {plain}}
	for _, m := range msgs {
		if n := longestLine(m.Data); n > 998 {
			t.Errorf("a delivered line has %d octets", n)
		}
		subject := ""
		for _, s := range []string{"plain", "multipart", "smtp"} {
			if strings.Contains(string(m.Data), "Subject: "+s+"\r\n") {
				subject = s
			}
		}
		if got := leaves(t, m.Data); fmt.Sprint(got) != fmt.Sprint(want[subject]) {
			t.Errorf("%s decodes to %.200q", subject, got)
		}
	}
}

// TestLocalHeadersLikePostfix: bare addresses in the header get the
// qualify domain, Date and Message-ID are added when missing (over SMTP
// too), and sendmail's Received names the submitting uid.
func TestLocalHeadersLikePostfix(t *testing.T) {
	t.Parallel()
	r := newRelay(t)
	d := r.start(t)
	if err := submitSMTP(r.submit, "app@example.org", "root@example.org",
		("To: root, Ops <ops>\r\nCc: admin\r\nSubject: smtp\r\n\r\nhi\r\n")); err != nil {
		t.Fatalf("loopback SMTP: %v", err)
	}
	if out, err := r.sendmail(t, "From: root (Cron Daemon)\nTo: root\nSubject: cron\n\nhi\n", "-t"); err != nil {
		t.Fatalf("sendmail: %v\n%s", err, out)
	}
	msgs := r.peer.Wait(2, 30*time.Second)
	if len(msgs) != 2 {
		t.Fatalf("smarthost got %d messages\n%s", len(msgs), d.Logs())
	}
	wants := map[string][]string{
		"smtp": {"To: root@example.org, Ops <ops@example.org>\r\n", "Cc: admin@example.org\r\n", "From: <app@example.org>\r\n", "\r\nDate: ", "\r\nMessage-ID: <"},
		"cron": {fmt.Sprintf("Received: by relay.test (bartleby, from userid %d);", os.Getuid()), "From: root@example.org (Cron Daemon)\r\n",
			"To: root@example.org\r\n", "\r\nDate: ", "\r\nMessage-ID: <"},
	}
	for _, m := range msgs {
		h, _ := body(t, m.Data)
		subject := "cron"
		if strings.Contains(h, "Subject: smtp\r\n") {
			subject = "smtp"
		}
		for _, want := range wants[subject] {
			if !strings.Contains(h, want) {
				t.Errorf("%s message lacks %q:\n%s", subject, want, h)
			}
		}
	}
}

// submitSMTP submits as local software does: plain SMTP on loopback, no
// SMTPUTF8 (which net/smtp asks for whenever it is offered).
func submitSMTP(addr, from, to, data string) error {
	return submitSMTPPausing(addr, from, to, data, nil)
}

// submitSMTPPausing is submitSMTP calling beforeData, if set, between
// RCPT and DATA.
func submitSMTPPausing(addr, from, to, data string, beforeData func()) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("app.test"); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	if beforeData != nil {
		beforeData()
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, data); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
