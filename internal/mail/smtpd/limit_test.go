package smtpd

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// serveLimited serves a sink through limit with the backup MX's default
// slots and returns the address.
func serveLimited(t *testing.T, preMail time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	s := New(Config{Name: "test", Hostname: "mx.test", MaxSize: 1 << 16, MaxRecipients: 3, Log: log}, &sink{})
	go s.Serve(limit(ln, 100, 10, 0, preMail, noLocal, log))
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String()
}

func noLocal(netip.Addr) bool { return false }

// only is the local test of a listener that trusts one address.
func only(addr string) func(netip.Addr) bool {
	return func(a netip.Addr) bool { return a == netip.MustParseAddr(addr) }
}

// greet connects from the loopback address src and returns the
// connection and the first line the server sends.
func greet(t *testing.T, src, addr string) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	return c, br, line
}

// TestSlotsForOtherAddresses: 100 idle connections from 127.0.0.1, then 10
// from each of 12 other addresses, leave room for 127.0.0.2.
func TestSlotsForOtherAddresses(t *testing.T) {
	t.Parallel()
	addr := serveLimited(t, time.Minute)
	held := 0
	for range 100 {
		if _, _, line := greet(t, "127.0.0.1", addr); strings.HasPrefix(line, "220") {
			held++
		}
	}
	if held != 10 {
		t.Errorf("127.0.0.1 holds %d sessions, want max_per_ip = 10", held)
	}
	for i := range 12 {
		for range 10 {
			greet(t, fmt.Sprintf("127.0.1.%d", i+1), addr)
		}
	}
	if _, _, line := greet(t, "127.0.0.2", addr); !strings.HasPrefix(line, "220") {
		t.Errorf("127.0.0.2 was locked out by 13 busy addresses: %q", line)
	}
}

// TestPreMailTimeout: a client idle before MAIL is cut off after the
// pre-MAIL timeout; after MAIL the longer command timeout applies.
func TestPreMailTimeout(t *testing.T) {
	t.Parallel()
	const preMail = 300 * time.Millisecond
	addr := serveLimited(t, preMail)

	idle, _, _ := greet(t, "127.0.0.1", addr)
	if _, err := io.ReadAll(idle); err != nil {
		t.Errorf("an idle client was not cut off before the 10 s client deadline: %v", err)
	}

	c, br, _ := greet(t, "127.0.0.1", addr)
	for _, cmd := range []string{"EHLO client.test", "MAIL FROM:<a@client.test>"} {
		fmt.Fprintf(c, "%s\r\n", cmd)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v", cmd, err)
			}
			if len(line) < 4 || line[3] != '-' {
				break
			}
		}
	}
	time.Sleep(3 * preMail)
	fmt.Fprintf(c, "RCPT TO:<b@mx.test>\r\n")
	if line, err := br.ReadString('\n'); !strings.HasPrefix(line, "250") {
		t.Errorf("after MAIL, a pause of %v cut the session: %q %v", 3*preMail, line, err)
	}
}

// TestLocalClientsSpared: the host's own programs (local) are spared the
// per-address limit and the greet pause, as Postfix spares mynetworks;
// everyone else still gets max_per_ip.
func TestLocalClientsSpared(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	s := New(Config{Name: "test", Hostname: "mx.test", MaxSize: 1 << 16, MaxRecipients: 3, Log: log}, &sink{})
	// A pause longer than greet's deadline: a client made to wait it fails.
	go s.Serve(limit(ln, 100, 2, time.Minute, time.Minute, only("127.0.0.5"), log))
	t.Cleanup(func() { s.Close() })
	addr := ln.Addr().String()

	// Talking before the greeting, more sessions than max_per_ip: the
	// local client gets every one; anyone else is an early talker.
	for i := range 5 {
		if line := talkFirst(t, "127.0.0.5", addr); !strings.HasPrefix(line, "220") {
			t.Fatalf("local session %d: %q", i+1, line)
		}
	}
	if line := talkFirst(t, "127.0.0.1", addr); !strings.HasPrefix(line, "554 5.5.1") {
		t.Errorf("a remote early talker got %q", line)
	}
}

// talkFirst connects from src, sends EHLO at once and returns the first
// line the server sends; the connection stays open until the test ends.
func talkFirst(t *testing.T, src, addr string) string {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "EHLO c.test\r\n")
	line, _ := bufio.NewReader(c).ReadString('\n')
	return line
}

// TestPreMailDeadlineFromConnect: a remote client that keeps talking
// (NOOP) but never sends MAIL is cut off preMail after it connected,
// well before the 10 s deadline of greet's connection.
func TestPreMailDeadlineFromConnect(t *testing.T) {
	t.Parallel()
	const preMail = 300 * time.Millisecond
	addr := serveLimited(t, preMail)
	c, br, _ := greet(t, "127.0.0.1", addr)
	go io.Copy(io.Discard, br) // the replies, until the server closes
	// A NOOP every third of the deadline: a per-command timeout never
	// fires, so only one counted from the connect ends this before 90.
	for range 90 {
		time.Sleep(preMail / 3)
		if _, err := fmt.Fprintf(c, "NOOP\r\n"); err != nil {
			return // cut off: the write meets the closed connection
		}
	}
	t.Error("a client sending a NOOP every 100 ms was not cut off in 9 s")
}

// TestHardErrorLimit: a remote client refused 20 times without delivering
// a message gets 421 and is cut off, even with commands still pipelined;
// a listener without Limit (local submission) keeps answering.
func TestHardErrorLimit(t *testing.T) {
	t.Parallel()
	script := "EHLO c\r\nMAIL FROM:<s@x.test>\r\n" + strings.Repeat("RCPT TO:<v@foreign.test>\r\n", 25) + "RCPT TO:<ok@x.test>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n"
	out := dialog(t, serveLimited(t, time.Minute), script)
	if strings.Count(out, "550 5.7.1") != maxRefusals-1 || !strings.Contains(out, "421 4.7.0 too many errors") || strings.Contains(out, "queued as") {
		t.Errorf("remote client:\n%s", out)
	}
	h := &sink{}
	out = dialog(t, serve(t, h, nil), script)
	if strings.Count(out, "550 5.7.1") != 25 || strings.Contains(out, "421") || h.count() != 1 {
		t.Errorf("unlimited listener:\n%s", out)
	}
	// Recipients past max_recipients (3) are no error: a client that
	// pipelines 40 sends the rest later.
	many := "EHLO c\r\nMAIL FROM:<s@x.test>\r\n" + strings.Repeat("RCPT TO:<r@x.test>\r\n", 40) + "DATA\r\nhi\r\n.\r\nQUIT\r\n"
	out = dialog(t, serveLimited(t, time.Minute), many)
	if strings.Count(out, "452 4.5.3") != 37 || !strings.Contains(out, "queued as") || strings.Contains(out, "421") {
		t.Errorf("pipelined recipients past the limit:\n%s", out)
	}
}
