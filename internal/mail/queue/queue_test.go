package queue

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func add(t *testing.T, q *Queue, body string, rcpts ...string) Envelope {
	t.Helper()
	env := Envelope{From: "a@example.org", Route: "smarthost"}
	for _, r := range rcpts {
		env.Rcpts = append(env.Rcpts, &Rcpt{Addr: r})
	}
	e, err := q.Add(env, strings.NewReader(body), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestAddReopen(t *testing.T) {
	dir := t.TempDir()
	q, _, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := add(t, q, "Subject: x\r\n\r\nhello\r\n", "b@example.net", "c@example.net")
	if _, err := q.Update(e.ID, func(e *Envelope) { e.Rcpts[0].State = Delivered; e.Attempts = 1 }); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "X.tmp"), []byte("half a message"), 0o600) // a crash during Add
	q.Close()

	q, warns, err := Open(dir)
	if err != nil || len(warns) != 0 {
		t.Fatal(err, warns)
	}
	defer q.Close()
	got, ok := q.Get(e.ID)
	if !ok || got.Attempts != 1 || got.Rcpts[0].State != Delivered || got.Rcpts[1].State != Pending || got.Size != e.Size {
		t.Fatalf("reopened: %+v (added %+v)", got, e)
	}
	if _, err := os.Stat(filepath.Join(dir, "X.tmp")); !os.IsNotExist(err) {
		t.Errorf("temporary file kept: %v", err)
	}
	rc, err := q.Data(e.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "Subject: x\r\n\r\nhello\r\n" {
		t.Fatalf("data %q", b)
	}
	// The last open recipient done removes the message.
	if _, err := q.Update(e.ID, func(e *Envelope) { e.Rcpts[1].State = Bounced }); err != nil {
		t.Fatal(err)
	}
	if q.Len() != 0 {
		t.Fatal("message kept")
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Fatalf("files left: %v", files)
	}
}

func TestTooBigAndCorrupt(t *testing.T) {
	dir := t.TempDir()
	q, _, _ := Open(dir)
	_, err := q.Add(Envelope{Rcpts: []*Rcpt{{Addr: "x@y"}}}, strings.NewReader(strings.Repeat("x", 101)), 100)
	if !errors.Is(err, ErrTooBig) {
		t.Fatalf("too big: %v", err)
	}
	q.Close()
	os.WriteFile(filepath.Join(dir, "BAD.msg"), []byte("garbage"), 0o600)
	q, warns, err := Open(dir)
	if err != nil || len(warns) != 1 || q.Len() != 0 {
		t.Fatalf("corrupt file: %v %v %d", err, warns, q.Len())
	}
	q.Close()
	if _, err := os.Stat(filepath.Join(dir, "corrupt", "BAD.msg")); err != nil {
		t.Fatalf("not quarantined: %v", err)
	}
}

// TestConcurrentAdds exercises the group commit: many writers, every one
// durable and listed.
func TestConcurrentAdds(t *testing.T) {
	q, _, _ := Open(t.TempDir())
	defer q.Close()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if _, err := q.Add(Envelope{Rcpts: []*Rcpt{{Addr: "x@y"}}}, strings.NewReader(fmt.Sprint(g, i)), 100); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if q.Len() != 320 {
		t.Fatalf("%d messages", q.Len())
	}
}

// TestFullDisk puts the spool on a tiny tmpfs: a message that does not fit
// is a temporary error, never accepted.
func TestFullDisk(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	defer exec.Command("umount", dir).Run()
	q, _, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	_, err = q.Add(Envelope{Rcpts: []*Rcpt{{Addr: "x@y"}}}, strings.NewReader(strings.Repeat("x", 200<<10)), 1<<20)
	var te *TempError
	if !errors.As(err, &te) {
		t.Fatalf("full disk: %v, want a TempError", err)
	}
	if q.Len() != 0 {
		t.Fatal("a message that did not fit is listed")
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Fatalf("files left: %v", files)
	}
}

// TestDeferralSurvivesReopen: a deferred message keeps its retry schedule
// across a restart (every reload restarts the mail part), so a restart does
// not send all deferred mail at once.
func TestDeferralSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	q, _, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := add(t, q, "Subject: x\r\n\r\nhello\r\n", "b@example.net")
	next := time.Now().Add(10 * time.Minute).Truncate(time.Second)
	if _, err := q.Update(e.ID, func(e *Envelope) {
		e.Rcpts[0].State, e.Rcpts[0].Error = Deferred, "cannot connect"
		e.Attempts, e.NextAttempt, e.LastError = 1, next, "cannot connect"
	}); err != nil {
		t.Fatal(err)
	}
	q.Close()

	q, _, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	got, _ := q.Get(e.ID)
	if got.Attempts != 1 || !got.NextAttempt.Equal(next) || got.LastError != "cannot connect" || got.Rcpts[0].State != Deferred {
		t.Fatalf("reopened: %+v", got)
	}
	ids, _, due := q.Due(time.Now())
	if len(ids) != 0 || !due.Equal(next) {
		t.Fatalf("due now %v, next %v; want none now and the next at %v", ids, due, next)
	}
}

// TestStage: a staged message is durable but neither listed nor due until
// committed; a discarded one is gone; one staged before a crash is loaded.
func TestStage(t *testing.T) {
	dir := t.TempDir()
	q, _, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	env := Envelope{From: "a@example.org", Route: "smarthost", Rcpts: []*Rcpt{{Addr: "b@example.net"}}}
	a, err := q.Stage(env.Clone(), strings.NewReader("a\r\n"), 100)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := q.Stage(env.Clone(), strings.NewReader("b\r\n"), 100)
	if ids, _, _ := q.Due(time.Now()); len(ids) != 0 || q.Len() != 0 {
		t.Fatalf("staged messages visible: due %v, len %d", ids, q.Len())
	}
	q.Commit(a)
	if ids, _, _ := q.Due(time.Now()); len(ids) != 1 || ids[0] != a.ID {
		t.Fatalf("committed message not due: %v", ids)
	}
	c, _ := q.Stage(env.Clone(), strings.NewReader("c\r\n"), 100)
	if err := q.Discard(b.ID); err != nil {
		t.Fatal(err)
	}
	q.Close()
	q, _, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, ok := q.Get(b.ID); ok || q.Len() != 2 {
		t.Errorf("after reopen: %d messages, discarded one present: %v", q.Len(), ok)
	}
	if _, ok := q.Get(c.ID); !ok {
		t.Error("a message staged before a crash is lost")
	}
}

// TestMessageIDKept: the Message-ID read as a message is spooled is known
// again after a restart, whether or not the envelope was saved since.
func TestMessageIDKept(t *testing.T) {
	dir := t.TempDir()
	q, _, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	fresh := add(t, q, "Message-ID: <fresh@example.org>\r\n\r\nhello\r\n", "b@example.net")
	saved := add(t, q, "Message-ID: <saved@example.org>\r\n\r\nhello\r\n", "b@example.net", "c@example.net")
	if fresh.MessageID != "<fresh@example.org>" {
		t.Fatalf("staged: %q", fresh.MessageID)
	}
	if _, err := q.Update(saved.ID, func(e *Envelope) { e.Rcpts[0].State = Delivered }); err != nil {
		t.Fatal(err)
	}
	q.Close()
	q, _, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for id, want := range map[string]string{fresh.ID: "<fresh@example.org>", saved.ID: "<saved@example.org>"} {
		if got, _ := q.Get(id); got.MessageID != want {
			t.Errorf("reopened %s: Message-ID %q, want %q", id, got.MessageID, want)
		}
	}
}
