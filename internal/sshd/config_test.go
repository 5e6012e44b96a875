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
	u := compile(cfg.SSH, cfg.Checker())["alice"]
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
	j, err := jail.Open("alice", u.mounts, slog.New(slog.NewTextHandler(io.Discard, nil)))
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
