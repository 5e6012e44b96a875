package sendmail

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestPrepareLikePostfix: bare addresses qualified, the uid recorded, a
// 5000-octet line re-encoded instead of refused (exit 65 lost cron mail).
func TestPrepareLikePostfix(t *testing.T) {
	s := &Settings{QualifyDomain: "example.org", Hostname: "host.example.org", MaxSize: 1 << 20}
	long := strings.Repeat("log line ", 555) + "end"
	in := "From: root (Cron Daemon)\nTo: root, Ops <ops>\nSubject: cron\n\n" + long + "\n"
	p, err := Prepare(&Options{Sender: "root", FromHeader: true}, s, strings.NewReader(in), time.Unix(1796126400, 0))
	if err != nil {
		t.Fatal(err)
	}
	data := string(p.Data)
	for _, want := range []string{
		fmt.Sprintf("Received: by host.example.org (bartleby, from userid %d);\r\n\t", os.Getuid()),
		"From: root@example.org (Cron Daemon)\r\n", "To: root@example.org, Ops <ops@example.org>\r\n",
		"Date: ", "Message-ID: <", "MIME-Version: 1.0\r\n", "Content-Transfer-Encoding: quoted-printable\r\n",
	} {
		if !strings.Contains(data, want) {
			t.Errorf("lacks %q:\n%s", want, data[:min(len(data), 600)])
		}
	}
	if !strings.HasPrefix(data, "Received: ") {
		t.Errorf("Received is not first:\n%s", data[:200])
	}
	if got := strings.Join(p.Rcpts, " "); got != "root@example.org ops@example.org" {
		t.Errorf("recipients %q", got)
	}
}
