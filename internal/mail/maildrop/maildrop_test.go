package maildrop

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "drop")
	name, err := Write(dir, Envelope{From: "root@example.org", Rcpts: []string{"ops"}}, strings.NewReader("Subject: x\r\n\r\nhi\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, ".half-written"), []byte("x"), 0o600)
	names, err := List(dir)
	if err != nil || len(names) != 1 || names[0] != name {
		t.Fatalf("List = %v, %v", names, err)
	}
	d, err := Open(dir, name, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	b, _ := io.ReadAll(d.Data)
	if d.From != "root@example.org" || d.Rcpts[0] != "ops" || string(b) != "Subject: x\r\n\r\nhi\r\n" || d.UID != uint32(os.Getuid()) {
		t.Fatalf("drop %+v %q", d.Envelope, b)
	}
	if _, err := Open(dir, name, 5); err == nil {
		t.Error("oversized drop accepted")
	}
}

// TestOpenRefusesTricks: a local user who can write the maildrop must not
// make the daemon read another file.
func TestOpenRefusesTricks(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte(magic+`{"from":"a@b","rcpts":["evil@x"]}`+"\n/etc/shadow"), 0o600)
	os.Symlink(secret, filepath.Join(dir, "link"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o700)
	os.WriteFile(filepath.Join(dir, "junk"), []byte("not a drop"), 0o600)
	for _, name := range []string{"link", "sub", "junk"} {
		if d, err := Open(dir, name, 1<<20); err == nil {
			d.Close()
			t.Errorf("%s opened", name)
		}
	}
	if names, _ := List(dir); len(names) != 1 || names[0] != "junk" {
		t.Errorf("List = %v", names)
	}
}

// TestManyRecipients: a drop for 1000 recipients (an envelope line of
// about 25 KB) is read back whole; it used to be refused past 4 KiB.
func TestManyRecipients(t *testing.T) {
	dir := t.TempDir()
	env := Envelope{From: "root@example.org"}
	for i := range 1000 {
		env.Rcpts = append(env.Rcpts, fmt.Sprintf("user%04d@example.net", i))
	}
	name, err := Write(dir, env, strings.NewReader("Subject: many\r\n\r\nhi\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(dir, name, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	b, _ := io.ReadAll(d.Data)
	if len(d.Rcpts) != 1000 || d.Rcpts[999] != "user0999@example.net" || string(b) != "Subject: many\r\n\r\nhi\r\n" {
		t.Fatalf("drop: %d recipients, %q", len(d.Rcpts), b)
	}
}

// TestSetAside: a drop set aside is listed with its reason and owner,
// hidden from List, and can be released or deleted; nothing else can.
func TestSetAside(t *testing.T) {
	dir := t.TempDir()
	a, _ := Write(dir, Envelope{From: "a@example.org"}, strings.NewReader("x\r\n"))
	b, _ := Write(dir, Envelope{From: "b@example.org"}, strings.NewReader("y\r\n"))
	for _, n := range []string{a, b} {
		if err := SetAside(dir, n, "no recipients"); err != nil {
			t.Fatal(err)
		}
	}
	if names, _ := List(dir); len(names) != 0 {
		t.Errorf("List shows drops set aside: %v", names)
	}
	list, err := ListAside(dir)
	if err != nil || len(list) != 2 || list[0].Name != a || list[0].Reason != "no recipients" || list[0].UID != uint32(os.Getuid()) || list[0].Size == 0 {
		t.Fatalf("ListAside = %+v, %v", list, err)
	}
	if err := Release(dir, a); err != nil {
		t.Fatal(err)
	}
	if names, _ := List(dir); len(names) != 1 || names[0] != a {
		t.Errorf("released drop not back: %v", names)
	}
	if err := Discard(dir, b); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{b, "../x", "1-A", "ABCDEF0123", a + "/x"} {
		if Release(dir, bad) == nil || Discard(dir, bad) == nil {
			t.Errorf("%q released or deleted", bad)
		}
	}
	if list, _ := ListAside(dir); len(list) != 0 {
		t.Errorf("left set aside: %+v", list)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".bad-*")); len(left) != 0 {
		t.Errorf("files left: %v", left)
	}
}

// TestRemoveStale: the temporary file of a sendmail killed while writing
// goes after an hour; a fresh one (being written), a drop, a set-aside
// drop and its reason stay.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * time.Hour)
	for _, name := range []string{".1700000000-0a1b2c3d4e5f", ".1700000001-0a1b2c3d4e5f", "1700000002-0a1b2c3d4e5f", ".bad-1700000003-0a1b2c3d4e5f", ".bad-1700000003-0a1b2c3d4e5f.why", ".other"} {
		os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600)
		if name != ".1700000001-0a1b2c3d4e5f" {
			os.Chtimes(filepath.Join(dir, name), old, old)
		}
	}
	gone, err := RemoveStale(dir, time.Now())
	if err != nil || len(gone) != 1 || gone[0] != ".1700000000-0a1b2c3d4e5f" {
		t.Fatalf("removed %v, %v", gone, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 5 {
		t.Fatalf("%d files left, want 5", len(left))
	}
}
