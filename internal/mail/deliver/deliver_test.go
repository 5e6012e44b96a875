package deliver_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"bartleby/internal/certs/capool"
	"bartleby/internal/mail/deliver"
	"bartleby/internal/mail/mailtest"
)

func target(t *testing.T, addr, caPath string, mode deliver.TLSMode) *deliver.Target {
	t.Helper()
	tg := &deliver.Target{Role: "smarthost", Addr: addr, TLS: mode, HelloName: "relay.test",
		Timeout: 5 * time.Second, Username: "mta", Password: "s3cret", ServerName: "smtp.test"}
	if caPath != "" {
		pool, err := capool.Load(caPath)
		if err != nil {
			t.Fatal(err)
		}
		tg.Roots, tg.RootsName = pool, caPath
	}
	return tg
}

func send(t *testing.T, tg *deliver.Target, rcpts ...string) ([]deliver.Result, error) {
	t.Helper()
	c, err := deliver.Dial(context.Background(), tg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Send(&deliver.Message{From: "cron@example.org", Rcpts: rcpts, Size: 20,
		Data: strings.NewReader("Subject: t\r\n\r\nhello\r\n")})
}

func TestDeliverVerifiedTLS(t *testing.T) {
	ca := mailtest.NewCA(t)
	cert := ca.Issue(t, "smtp.test")
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		ca       string
		implicit bool
		mechs    []string
	}{
		{"ca file, STARTTLS, PLAIN", ca.WriteFile(t, dir), false, []string{"PLAIN"}},
		{"ca directory, STARTTLS, LOGIN", ca.WriteDir(t, dir), false, []string{"LOGIN"}},
		{"ca file, implicit TLS", ca.WriteFile(t, dir), true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mailtest.StartPeer(t, mailtest.Options{Cert: &cert, Implicit: tc.implicit,
				Username: "mta", Password: "s3cret", Mechs: tc.mechs})
			mode := deliver.StartTLS
			if tc.implicit {
				mode = deliver.Implicit
			}
			res, err := send(t, target(t, p.Addr, tc.ca, mode), "a@example.net")
			if err != nil || res[0].Err != nil {
				t.Fatalf("send: %v %+v", err, res)
			}
			m := p.Wait(1, 5*time.Second)
			if len(m) != 1 || !m[0].TLS || m[0].Auth != "mta" {
				t.Fatalf("peer got %+v", m)
			}
		})
	}
}

// TestDeliverRefusals checks that every way TLS or AUTH can go wrong is a
// temporary failure with a reason that names the problem.
func TestDeliverRefusals(t *testing.T) {
	ca := mailtest.NewCA(t)
	other := mailtest.NewCA(t)
	dir := t.TempDir()
	caFile := ca.WriteFile(t, dir)
	good := ca.Issue(t, "smtp.test")
	wrongName := ca.Issue(t, "other.test")
	unknown := other.Issue(t, "smtp.test")
	for _, tc := range []struct {
		name string
		opts mailtest.Options
		want string
	}{
		{"no STARTTLS", mailtest.Options{}, "does not offer STARTTLS"},
		{"unknown CA", mailtest.Options{Cert: &unknown}, "certificate for smtp.test signed by unknown authority (ca=" + caFile + ")"},
		{"hostname mismatch", mailtest.Options{Cert: &wrongName}, "is not valid for smtp.test (it is for other.test)"},
		{"AUTH refused", mailtest.Options{Cert: &good, Username: "mta", Password: "other"}, "AUTH PLAIN as \"mta\" rejected by smarthost"},
		{"no AUTH offered", mailtest.Options{Cert: &good}, "does not offer AUTH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mailtest.StartPeer(t, tc.opts)
			_, err := send(t, target(t, p.Addr, caFile, deliver.StartTLS), "a@example.net")
			t.Logf("reason: %v", err)
			de, ok := err.(*deliver.Error)
			if !ok || !de.Temporary || !strings.Contains(de.Reason, tc.want) {
				t.Fatalf("got %v, want a temporary error containing %q", err, tc.want)
			}
			if n := len(p.Messages()); n != 0 {
				t.Fatalf("peer received %d messages", n)
			}
		})
	}
}

func TestDeliverPerRecipient(t *testing.T) {
	ca := mailtest.NewCA(t)
	cert := ca.Issue(t, "smtp.test")
	reject := func(addr string) error {
		if strings.HasPrefix(addr, "full@") {
			return mailtest.RejectRcpt("full@", 452)(addr)
		}
		return mailtest.RejectRcpt("nobody@", 550)(addr)
	}
	p := mailtest.StartPeer(t, mailtest.Options{Cert: &cert, Username: "mta", Password: "s3cret", Rcpt: reject})
	res, err := send(t, target(t, p.Addr, ca.WriteFile(t, t.TempDir()), deliver.StartTLS),
		"ok@example.net", "full@example.net", "nobody@example.net")
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[1].Err == nil || !res[1].Err.Temporary || res[2].Err == nil || res[2].Err.Temporary {
		t.Fatalf("results: %+v %+v %+v", res[0], res[1].Err, res[2].Err)
	}
	if m := p.Wait(1, 5*time.Second); len(m) != 1 || len(m[0].Rcpts) != 1 {
		t.Fatalf("peer got %+v", m)
	}
}

// TestDeliverReuse sends several messages on one connection: one AUTH.
func TestDeliverReuse(t *testing.T) {
	ca := mailtest.NewCA(t)
	cert := ca.Issue(t, "smtp.test")
	p := mailtest.StartPeer(t, mailtest.Options{Cert: &cert, Username: "mta", Password: "s3cret"})
	c, err := deliver.Dial(context.Background(), target(t, p.Addr, ca.WriteFile(t, t.TempDir()), deliver.StartTLS))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 5 {
		res, err := c.Send(&deliver.Message{From: "a@example.org", Rcpts: []string{"b@example.net"}, Data: strings.NewReader("x\r\n")})
		if err != nil || res[0].Err != nil {
			t.Fatal(err, res)
		}
	}
	if got := len(p.Wait(5, 5*time.Second)); got != 5 || p.Auths() != 1 {
		t.Fatalf("%d messages, %d logins; want 5 and 1", got, p.Auths())
	}
}

// TestDeliverHangingPeer: a peer that accepts the connection and says
// nothing cannot hold a delivery longer than the timeout.
func TestDeliverHangingPeer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	tg := &deliver.Target{Role: "smarthost", Addr: ln.Addr().String(), TLS: deliver.StartTLS, Timeout: 300 * time.Millisecond}
	_, err = deliver.Dial(context.Background(), tg)
	if de, ok := err.(*deliver.Error); !ok || !de.Temporary {
		t.Fatalf("got %v, want a temporary error", err)
	}
}

// TestDeliverImplicitNotTLS: implicit TLS to a plain server fails clearly.
func TestDeliverImplicitNotTLS(t *testing.T) {
	p := mailtest.StartPeer(t, mailtest.Options{})
	tg := &deliver.Target{Role: "smarthost", Addr: p.Addr, TLS: deliver.Implicit, Timeout: 2 * time.Second}
	_, err := deliver.Dial(context.Background(), tg)
	if de, ok := err.(*deliver.Error); !ok || !strings.Contains(de.Reason, "TLS with smarthost") {
		t.Fatalf("got %v", err)
	}
}

// scripted runs a fake plain SMTP peer that answers what it reads by
// prefix and hangs up on closeOn; it stands in for broken smarthosts.
func scripted(t *testing.T, greeting string, replies map[string]string, closeOn string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveScript(c, greeting, replies, closeOn)
		}
	}()
	return ln.Addr().String()
}

func serveScript(c net.Conn, greeting string, replies map[string]string, closeOn string) {
	defer c.Close()
	c.Write([]byte(greeting))
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		line := string(buf[:n])
		if closeOn != "" && strings.Contains(line, closeOn) {
			return
		}
		for prefix, reply := range replies {
			if strings.HasPrefix(line, prefix) {
				c.Write([]byte(reply))
			}
		}
	}
}

// TestDeliverBrokenPeers: garbage and a connection dropped mid-DATA are
// temporary failures for every recipient, never a success.
func TestDeliverBrokenPeers(t *testing.T) {
	ok := map[string]string{"EHLO": "250 peer\r\n", "MAIL": "250 ok\r\n", "RCPT": "250 ok\r\n", "DATA": "354 go\r\n"}
	for _, tc := range []struct {
		name, greeting, closeOn string
		replies                 map[string]string
		dialFails               bool
	}{
		{"garbage greeting", "HELLO THERE\r\n", "", ok, true},
		{"dropped during DATA", "220 peer\r\n", "hello", ok, false},
		{"garbage after DATA", "220 peer\r\n", "", map[string]string{"EHLO": "250 peer\r\n", "MAIL": "250 ok\r\n", "RCPT": "250 ok\r\n", "DATA": "354 go\r\n", "Subject": "xyzzy\r\n"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := scripted(t, tc.greeting, tc.replies, tc.closeOn)
			tg := &deliver.Target{Role: "primary", Addr: addr, TLS: deliver.Opportunistic, Timeout: 2 * time.Second}
			c, err := deliver.Dial(context.Background(), tg)
			if tc.dialFails {
				if de, ok := err.(*deliver.Error); !ok || !de.Temporary {
					t.Fatalf("dial: %v, want a temporary error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.Close()
			res, err := c.Send(&deliver.Message{From: "a@example.org", Rcpts: []string{"b@example.net"},
				Data: strings.NewReader("Subject: t\r\n\r\nhello\r\n")})
			if err == nil || res[0].Err == nil || !res[0].Err.Temporary {
				t.Fatalf("got %v %+v, want a temporary failure", err, res)
			}
		})
	}
}
