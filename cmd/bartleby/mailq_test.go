package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"bartleby/internal/mail/maildrop"
	"bartleby/internal/mail/queue"
)

func TestPostfixQueueFormat(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 5, 7, 0, time.Local)
	list := []queue.Envelope{
		{ID: "0F3A21B9C4", From: "alice@example.org", Received: at, Size: 2048, Rcpts: []*queue.Rcpt{
			{Addr: "bob@example.net", State: queue.Deferred, Error: "connect to smarthost 127.0.0.1:25: connection refused"},
			{Addr: "carol@example.net", State: queue.Deferred, Error: "connect to smarthost 127.0.0.1:25: connection refused"},
			{Addr: "dave@example.net", State: queue.Delivered},
		}},
		{ID: "1B22C3D4E5", Held: true, Received: at, Size: 1000, Rcpts: []*queue.Rcpt{{Addr: "root@example.org", State: queue.Pending}}},
	}
	aside := []maildrop.Aside{{Name: "1700000000-ab12", UID: 1000, Size: 100, Time: at, Reason: "no recipients"}}
	var b bytes.Buffer
	writePostfixQueue(&b, list, aside)
	pad := strings.Repeat(" ", 47)
	want := `----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------
1700000000-ab12!       100 Tue Dec  1 09:05:07 (set aside from the maildrop, sender UID 1000)
(not queued: no recipients; bartleby mail release 1700000000-ab12 once fixed, or bartleby mail delete 1700000000-ab12)

0F3A21B9C4            2048 Tue Dec  1 09:05:07 alice@example.org
` + strings.Repeat(" ", 76-53) + `(connect to smarthost 127.0.0.1:25: connection refused)
` + pad + `bob@example.net
` + pad + `carol@example.net

1B22C3D4E5!           1000 Tue Dec  1 09:05:07 MAILER-DAEMON
` + pad + `root@example.org

		Total requests: 3
-- 3 Kbytes in 3 Requests.
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	b.Reset()
	writePostfixQueue(&b, nil, nil)
	if b.String() != "Mail queue is empty\n" {
		t.Errorf("empty queue: %q", b.String())
	}
	b.Reset()
	writePostfixQueue(&b, list[1:], nil)
	if !strings.HasSuffix(b.String(), "\n-- 0 Kbytes in 1 Request.\n") {
		t.Errorf("one message: %q", b.String())
	}
}
