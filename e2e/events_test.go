package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/crypto/ssh"

	"bartleby/internal/mail/mailtest"
	"bartleby/internal/testutil"
)

// events returns the daemon's JSON log lines whose event is name.
func events(d *testutil.Daemon, name string) []map[string]any {
	var out []map[string]any
	for _, l := range d.LogLines() {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["event"] == name {
			out = append(out, m)
		}
	}
	return out
}

// waitEvent waits for n lines of the event name.
func waitEvent(t *testing.T, d *testutil.Daemon, name string, n int) []map[string]any {
	t.Helper()
	var ev []map[string]any
	testutil.Eventually(t, 30*time.Second, fmt.Sprintf("%d %q events", n, name), func() error {
		if ev = events(d, name); len(ev) < n {
			return fmt.Errorf("%d in the log:\n%s", len(ev), d.Logs())
		}
		return nil
	})
	return ev
}

// hasKeys checks that an event carries each key, with want's values.
func hasKeys(t *testing.T, ev map[string]any, keys []string, want map[string]any) {
	t.Helper()
	for _, k := range keys {
		if v, ok := ev[k]; !ok || v == "" || v == nil {
			t.Errorf("%s lacks %s: %v", ev["event"], k, ev)
		}
	}
	for k, v := range want {
		if fmt.Sprint(ev[k]) != fmt.Sprint(v) {
			t.Errorf("%s: %s = %v, want %v", ev["event"], k, ev[k], v)
		}
	}
}

// TestMailEvents: each step of a message's life is a log line with a
// stable event and what Postfix logs (queue ID, Message-ID, size, sender,
// recipient, relay, delay, DSN status), so a log shipper can rebuild a
// pflogsumm-style summary.
func TestMailEvents(t *testing.T) {
	t.Parallel()
	rcpt := func(addr string) error {
		switch {
		case strings.HasPrefix(addr, "gone@"):
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case strings.HasPrefix(addr, "later@"):
			return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "try later"}
		}
		return nil
	}
	r := newRelayTo(t, mailtest.Options{Rcpt: rcpt})
	d := r.start(t)
	if out, err := r.sendmail(t, "Subject: events\r\n\r\nhello\r\n", "-i", "ok@example.net", "gone@example.net", "later@example.net"); err != nil {
		t.Fatalf("sendmail: %v\n%s", err, out)
	}
	queued := waitEvent(t, d, "mail.queued", 1)[0]
	hasKeys(t, queued, []string{"id", "message_id", "size", "from", "to", "origin"},
		map[string]any{"nrcpt": 3, "via": "submit", "from": "root@example.org"})
	id, msgID := queued["id"], queued["message_id"]
	if s, _ := msgID.(string); !strings.HasPrefix(s, "<") || !strings.HasSuffix(s, "@relay.test>") {
		t.Errorf("message_id %v", msgID)
	}
	common := []string{"size", "from", "delay", "attempt", "route"}
	hasKeys(t, waitEvent(t, d, "mail.delivered", 1)[0], common,
		map[string]any{"id": id, "message_id": msgID, "to": "ok@example.net", "relay": r.peer.Addr, "dsn": "2.0.0"})
	hasKeys(t, waitEvent(t, d, "mail.bounced", 1)[0], append(common, "reason"),
		map[string]any{"id": id, "message_id": msgID, "to": "gone@example.net", "relay": r.peer.Addr, "dsn": "5.1.1"})
	hasKeys(t, waitEvent(t, d, "mail.deferred", 1)[0], append(common, "reason", "next_attempt"),
		map[string]any{"id": id, "message_id": msgID, "to": "later@example.net", "relay": r.peer.Addr, "dsn": "4.2.1"})
	hasKeys(t, waitEvent(t, d, "mail.received", 1)[0], []string{"id", "listener", "origin", "from"}, nil)
	hasKeys(t, waitEvent(t, d, "mail.dsn_queued", 1)[0], []string{"dsn_id", "to"}, nil)
	// The DSN is itself queued and delivered, with its own events.
	waitEvent(t, d, "mail.queued", 2)
	if ev := waitEvent(t, d, "mail.delivered", 2)[1]; ev["from"] != "" || ev["to"] != "root@example.org" {
		t.Errorf("the DSN's delivery: %v", ev)
	}
}

// TestSSHAndWebEvents: logins, failed logins and a web reload are log
// lines with their events, and the env request every OpenSSH client sends
// is no warning.
func TestSSHAndWebEvents(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jail, www := filepath.Join(dir, "jail"), filepath.Join(dir, "www")
	os.Mkdir(jail, 0o755)
	os.Mkdir(www, 0o755)
	addr := testutil.FreePort(t)
	// Password "demo", as in examples/quickstart.toml.
	d := testutil.StartDaemon(t, fmt.Sprintf(`[ssh]
listen = %q
  [[ssh.user]]
  name = "alice"
  password = "$2a$12$JeRPLpgYKsf9l8I1/RIaYuJA/LvDLeMu7bp37MQRFlOdZg20qAnBe"
  root = %q
[web]
http = %q
https = %q
[[site]]
hosts = ["events.test"]
  [[site.route]]
  root = %q
`, addr, jail, testutil.FreePort(t), testutil.FreePort(t), www))

	login := func(password string) (*ssh.Client, error) {
		return ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "alice", Auth: []ssh.AuthMethod{ssh.Password(password)},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	}
	if _, err := login("wrong"); err == nil {
		t.Fatal("a wrong password logged in")
	}
	c, err := login("demo")
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	// What OpenSSH's SendEnv LANG LC_* does, then an sftp session.
	s.Setenv("LANG", "C.UTF-8")
	if err := s.RequestSubsystem("sftp"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	c.Close()
	hasKeys(t, waitEvent(t, d, "ssh.login_failed", 1)[0], []string{"addr", "err"}, map[string]any{"user": "alice", "method": "password"})
	hasKeys(t, waitEvent(t, d, "ssh.login", 1)[0], []string{"addr", "client"}, map[string]any{"user": "alice", "method": "password"})
	waitEvent(t, d, "ssh.logout", 1)
	for _, ev := range events(d, "ssh.request_refused") {
		if ev["type"] == "env" && ev["level"] != "DEBUG" {
			t.Errorf("an env request is logged at %v", ev["level"])
		}
	}

	d.Signal(syscall.SIGHUP)
	hasKeys(t, waitEvent(t, d, "web.reload", 1)[0], nil, map[string]any{"sites": 1})
	waitEvent(t, d, "config.reloaded", 1)
	// Every line of these parts has an event.
	for _, l := range d.LogLines() {
		if strings.Contains(l, `"part":"ssh"`) || strings.Contains(l, `"part":"web"`) {
			if !strings.Contains(l, `"event":"`) {
				t.Errorf("a line without an event: %s", l)
			}
		}
	}
}
