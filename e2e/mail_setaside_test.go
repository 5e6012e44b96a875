package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bartleby/internal/mail/maildrop"
	"bartleby/internal/testutil"
)

// TestMaildropSetAsideNeverSilent: a drop the daemon cannot queue (over
// max_size, not a drop at all) is logged at ERROR, shown by mailq, status
// and the admin queue page, and kept; once max_size is raised, releasing
// it delivers it, and delete removes the other.
func TestMaildropSetAsideNeverSilent(t *testing.T) {
	t.Parallel()
	r := newRelay(t, `max_size = "1KB"`)
	admin := testutil.FreePort(t)
	r.config += fmt.Sprintf("[admin]\nlisten = %q\nallow = [\"127.0.0.1/32\"]\n", admin)
	// A drop made under a larger max_size, and junk in the directory.
	big, err := maildrop.Write(r.maildrop, maildrop.Envelope{From: "root@example.org", Rcpts: []string{"ops@example.net"}},
		strings.NewReader("Subject: big\r\n\r\n"+strings.Repeat("report line\r\n", 200)))
	if err != nil {
		t.Fatal(err)
	}
	junk := "1-abc"
	if err := os.WriteFile(filepath.Join(r.maildrop, junk), []byte("not a drop"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := r.start(t)
	for _, name := range []string{big, junk} {
		if !d.WaitLog(`"drop":"`+name+`"`, 20*time.Second) || !hasLine(d.LogLines(), `"level":"ERROR"`, "message set aside", `"drop":"`+name+`"`) {
			t.Fatalf("no ERROR for %s", name)
		}
	}
	out, err := d.Run("mail", "queue")
	for _, want := range []string{"Mail queue is empty", "2 message(s) set aside", big, junk, "set aside", "larger than the maximum message size", "not a bartleby spool file"} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("mailq lacks %q: %v\n%s", want, err, out)
		}
	}
	// mailq lists them in Postfix's format, counted as requests, so
	// check_mailq sees mail that is not moving.
	if out, err := runMailq(t, d.Config); err != nil || !strings.Contains(out, big+"!") || !strings.Contains(out, junk+"!") ||
		!strings.HasSuffix(out, " Kbytes in 2 Requests.\n") {
		t.Errorf("mailq: %v\n%s", err, out)
	}
	if out, err := d.Run("status"); err != nil || !strings.Contains(out, "warning: mail: 2 message(s) from the maildrop set aside") {
		t.Errorf("status: %v\n%s", err, out)
	}
	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get("https://" + admin + "/mail/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"Set aside from the maildrop", big, `name="id" value="` + big + `"`, `<option value="release">Release</option>`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("queue page lacks %q:\n%s", want, page)
		}
	}

	// The admin raises max_size, reloads, releases: delivered.
	cfg, _ := os.ReadFile(d.Config)
	os.WriteFile(d.Config, []byte(strings.Replace(string(cfg), `max_size = "1KB"`, `max_size = "1MB"`, 1)), 0o600)
	d.Signal(1) // SIGHUP
	if !d.WaitLog("config reloaded", 20*time.Second) {
		t.Fatal("no reload")
	}
	if out, err := d.Run("mail", "release", big); err != nil || !strings.Contains(out, "released") {
		t.Fatalf("release: %v\n%s", err, out)
	}
	if m := r.peer.Wait(1, 30*time.Second); len(m) != 1 || !strings.Contains(string(m[0].Data), "Subject: big") {
		t.Fatalf("released drop not delivered: %+v", m)
	}
	if out, err := d.Run("mail", "delete", junk); err != nil || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	if left, _ := filepath.Glob(filepath.Join(r.maildrop, "*")); len(left) != 0 {
		t.Errorf("maildrop holds %v", left)
	}
	if left, _ := filepath.Glob(filepath.Join(r.maildrop, ".bad-*")); len(left) != 0 {
		t.Errorf("maildrop holds %v", left)
	}
}

// hasLine reports whether one line holds every part.
func hasLine(lines []string, parts ...string) bool {
	for _, l := range lines {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			return true
		}
	}
	return false
}

// TestMaildropForgedEnvelope: whoever may write the maildrop writes the
// envelope too. A sender with a pipelined SMTP command in it is set aside,
// never sent; a temporary file left by a killed sendmail is removed after
// an hour; a good drop beside them is delivered.
func TestMaildropForgedEnvelope(t *testing.T) {
	t.Parallel()
	r := newRelay(t)
	forged, err := maildrop.Write(r.maildrop, maildrop.Envelope{From: "a@example.org>\r\nRCPT TO:<victim@evil.example", Rcpts: []string{"ops@example.net"}},
		strings.NewReader("Subject: forged\r\n\r\nx\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	good, err := maildrop.Write(r.maildrop, maildrop.Envelope{From: "root@example.org", Rcpts: []string{"ops@example.net"}}, strings.NewReader("Subject: good\r\n\r\nx\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	stale, fresh := filepath.Join(r.maildrop, ".1700000000-00aa11bb22cc"), filepath.Join(r.maildrop, ".1700000001-00aa11bb22cc")
	for _, p := range []string{stale, fresh} {
		os.WriteFile(p, []byte("half a drop"), 0o600)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, old, old)
	d := r.start(t)
	if !d.WaitLog(`"drop":"`+forged+`"`, 20*time.Second) || !strings.Contains(d.Logs(), "is not a valid address") {
		t.Fatalf("forged drop %s not set aside", forged)
	}
	m := r.peer.Wait(1, 20*time.Second)
	if len(m) != 1 || !strings.Contains(string(m[0].Data), "Subject: good") || len(m[0].Rcpts) != 1 {
		t.Fatalf("smarthost got %+v, want the good drop %s only", m, good)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) || !d.WaitLog(`"event":"mail.maildrop_stale"`, time.Second) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temporary file removed: %v", err)
	}
}
