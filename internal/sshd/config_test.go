package sshd

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bartleby/internal/config"
	"bartleby/internal/jail"
	"bartleby/internal/testutil"
)

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

func parse(t *testing.T, body string) (*config.Config, error) {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"root", "www", "root/inner"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "keys"), []byte("from=\"10.0.0.0/8\" "+testKey+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "badkeys"), []byte("command=\"/bin/sh\" "+testKey+"\n"), 0o600)
	body = strings.ReplaceAll(body, "{{dir}}", dir)
	return config.Parse(filepath.Join(dir, "b.toml"), []byte("state_dir = \""+dir+"/state\"\n"+body), Check)
}

func TestConfigGood(t *testing.T) {
	cfg, err := parse(t, `
[ssh]
listen = "127.0.0.1:2222"
  [[ssh.user]]
  name = "alice"
  password = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
  authorized_keys = "keys"
  root = "root"
  mounts = { "/www" = { dir = "www", read_only = true } }
`)
	if err != nil {
		t.Fatal(err)
	}
	u := compile(cfg, cfg.Checker())["alice"]
	if len(u.keys) != 1 || len(u.mounts) != 2 || !u.mounts[1].ReadOnly || u.mounts[1].Path != "/www" {
		t.Errorf("user = %+v", u)
	}
	if cfg.SSH.MaxAuthTries != 3 || cfg.SSH.Ciphers[0] != "aes128-gcm@openssh.com" {
		t.Errorf("defaults: %+v", cfg.SSH)
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := parse(t, `
[ssh]
listen = "127.0.0.1:2222"
max_auth_tries = 50
ciphers = ["3des-cbc"]
  [[ssh.user]]
  name = "alice"
  password = "plain"
  keys = ["command=\"x\" `+testKey+`"]
  root = "{{dir}}/root"
  mounts = { "www" = "{{dir}}/www", "/in" = "{{dir}}/root/inner", "/x" = { dir = "{{dir}}/www", mode = 1 } }
  rsync_owner = true
  [[ssh.user]]
  name = "alice"
  authorized_keys = "badkeys"
  root = "{{dir}}/nowhere/at/all"
  [[ssh.user]]
  name = "carol"
  root = "{{dir}}/root"
  [[ssh.user]]
  name = "dave"
  keys = ["`+testKey+`"]
  root = "{{dir}}/www"
  mounts = { "/etc" = "{{dir}}" }
  [[ssh.user]]
  name = "erin"
  keys = ["`+testKey+`"]
  root = "{{dir}}/state"
`)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		"ssh.max_auth_tries: must be from 1 to 10",
		"ssh.ciphers[1]: must be one of",
		"ssh.user[1].password: not a supported password hash",
		`ssh.user[1].keys[1]: option "command" is not supported`,
		`mount point "www" must be a clean absolute path`,
		"must not nest",
		"ssh.user[1].mounts./x.mode: unknown key",
		"rsync_owner: only means something with rsync = true",
		`ssh.user[2].name: user "alice" is already defined`,
		"ssh.user[2].authorized_keys",
		`user "carol" has neither a password nor keys`,
		"ssh.user[4].root: /etc (",
		") holds the config file (",
		"ssh.user[5].root: / (",
		"/state) holds state_dir (",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}

func TestDefender(t *testing.T) {
	now := time.Unix(1000, 0)
	d := newDefender(3, time.Minute, 10*time.Minute)
	d.now = func() time.Time { return now }
	a := remoteAddr(&fakeAddr{"192.0.2.1:5555"})
	if d.Blocked(a) || d.Delay(a) != 0 {
		t.Fatal("fresh address limited")
	}
	d.Fail(a)
	if d.Delay(a) != delayStep {
		t.Errorf("delay after one failure = %v", d.Delay(a))
	}
	d.Fail(a)
	if _, blocked := d.Fail(a); !blocked || !d.Blocked(a) {
		t.Fatal("third failure did not block")
	}
	now = now.Add(11 * time.Minute)
	if d.Blocked(a) {
		t.Error("block did not expire")
	}
	// Failures spread beyond the window do not add up.
	d.Fail(a)
	now = now.Add(2 * time.Minute)
	d.Fail(a)
	now = now.Add(2 * time.Minute)
	if _, blocked := d.Fail(a); blocked {
		t.Error("failures outside the window blocked")
	}
	d.Succeed(a)
	if d.Delay(a) != 0 {
		t.Error("success did not reset")
	}
	// IPv6 counts per /64.
	for i := range 3 {
		d.Fail(netip.MustParseAddr(fmt.Sprintf("2001:db8::%d", i+1)))
	}
	if !d.Blocked(netip.MustParseAddr("2001:db8::ffff")) || d.Blocked(netip.MustParseAddr("2001:db8:0:1::1")) {
		t.Error("IPv6 failures are not counted per /64")
	}
}

type fakeAddr struct{ s string }

func (f *fakeAddr) Network() string { return "tcp" }
func (f *fakeAddr) String() string  { return f.s }

// TestExecPolicy: only rsync --server, only for rsync users, and never
// where rsync cannot be confined.
func TestExecPolicy(t *testing.T) {
	dir := t.TempDir()
	u := &user{SSHUser: &config.SSHUser{Name: "alice", Rsync: true}, mounts: []jail.Mount{{Path: "/", Dir: dir}}}
	j, err := jail.Open("alice", u.mounts, u.perms, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	s := &Server{rsyncErr: errors.New("rsync needs Landlock ABI 3")}
	if _, err := s.checkExec("rsync --server -rlptDe.iLsfxCIvu . x", u, j); err == nil || !strings.Contains(err.Error(), "Landlock") {
		t.Errorf("no Landlock: %v, want the Landlock refusal", err)
	}
	s.rsyncErr = nil
	if _, err := s.checkExec("rsync --server -rlptDe.iLsfxCIvu . x", u, j); err != nil {
		t.Errorf("rsync user refused: %v", err)
	}
	for _, cmd := range []string{"ls", "rsync", "/usr/bin/rsync --server . x", "scp -t /"} {
		if _, err := s.checkExec(cmd, u, j); err == nil {
			t.Errorf("%q allowed", cmd)
		}
	}
	u.Rsync = false
	if _, err := s.checkExec("rsync --server -rlptDe.iLsfxCIvu . x", u, j); err == nil {
		t.Error("rsync allowed for a user without rsync = true")
	}
}

// TestConfigPermsSyntax: umask and group are checked wherever the check
// runs; a default user gets umask 022 and the daemon's group.
func TestConfigPermsSyntax(t *testing.T) {
	_, err := parse(t, `
[ssh]
  [[ssh.user]]
  name = "a"
  password_file = "/dev/null"
  root = "{{dir}}/root"
  umask = "22"
  [[ssh.user]]
  name = "b"
  keys = ["`+testKey+`"]
  root = "{{dir}}/root"
  umask = "0o22"
  group = "web:data"
  [[ssh.user]]
  name = "c"
  keys = ["`+testKey+`"]
  root = "{{dir}}/root"
  umask = "1777"
  group = "no-such-group-bartleby"
  [[ssh.user]]
  name = "d"
  keys = ["`+testKey+`"]
  root = "{{dir}}/root"
  group = "root"
`)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{
		`ssh.user[1].umask: "22" is not a umask`,
		`ssh.user[2].umask: "0o22" is not a umask`,
		`ssh.user[2].group: "web:data" is not a group name`,
		`ssh.user[3].umask: "1777" is not a umask`,
		`ssh.user[3].group: no group "no-such-group-bartleby" on this system`,
		`ssh.user[4].group: "root" is root's group (gid 0)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%s", want, err)
		}
	}
	cfg, err := parse(t, "[ssh]\n[[ssh.user]]\nname = \"e\"\nkeys = [\""+testKey+"\"]\nroot = \"{{dir}}/root\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if p := compile(cfg, cfg.Checker())["e"].perms; p != jail.DefaultPerms {
		t.Errorf("default perms %+v, want umask 022 and no group", p)
	}
}

// TestConfigGroupMembership: a group the daemon's user is not a member of
// is refused (its files could not be given to it); one it is in is taken.
// As root, the user key names the daemon's user; without one the check
// can only warn.
func TestConfigGroupMembership(t *testing.T) {
	testutil.NeedRoot(t)
	user := func(name, group string) string {
		return fmt.Sprintf("[[ssh.user]]\nname = %q\nkeys = [%q]\nroot = \"{{dir}}/root\"\ngroup = %q\numask = \"002\"\n", name, testKey, group)
	}
	_, err := parse(t, "user = \"nobody\"\n[ssh]\n"+user("a", "daemon"))
	if err == nil || !strings.Contains(err.Error(), `ssh.user[1].group: nobody is not a member of group "daemon"`) {
		t.Errorf("a group nobody is not in: %v", err)
	}
	cfg, err := parse(t, "user = \"nobody\"\n[ssh]\n"+user("b", "nogroup"))
	if err != nil {
		t.Fatal(err)
	}
	nogroup, err := lookupGroup("nogroup")
	if err != nil {
		t.Fatal(err)
	}
	if p := compile(cfg, cfg.Checker())["b"].perms; p != (jail.Perms{Umask: 0o002, Group: nogroup}) {
		t.Errorf("perms %+v, want umask 002 and group nogroup", p)
	}
	cfg, err = parse(t, "[ssh]\n"+user("c", "daemon"))
	if err != nil {
		t.Fatalf("without a user key as root: %v, want only a warning", err)
	}
	if w := cfg.Warnings.Error(); !strings.Contains(w, `ssh.user[1].group: checked as root without a user key`) {
		t.Errorf("warnings: %s", w)
	}
}
