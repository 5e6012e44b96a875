package smtpd

import (
	"bufio"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"bartleby/internal/mail/mailtest"
	"bartleby/internal/mail/queue"
)

// sink is a Handler that keeps what it is given.
type sink struct {
	mu      sync.Mutex
	msgs    []string
	origins []string
	fail    error
}

func (s *sink) Rcpt(addr string) error {
	if strings.HasSuffix(addr, "@foreign.test") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "relaying denied"}
	}
	return nil
}

func (s *sink) Queue(m *Incoming) (string, error) {
	b, err := io.ReadAll(m.Data)
	if err != nil {
		return "", err
	}
	if s.fail != nil {
		return "", s.fail
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, string(b))
	s.origins = append(s.origins, m.Origin)
	return "ID1", nil
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

func serve(t testing.TB, h Handler, tlsCfg *tls.Config) string {
	t.Helper()
	return serveConfig(t, h, Config{TLS: tlsCfg})
}

func serveConfig(t testing.TB, h Handler, cfg Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Name, cfg.Hostname, cfg.MaxSize, cfg.MaxRecipients, cfg.Log = "test", "mx.test", 1<<16, 3, slog.New(slog.DiscardHandler)
	s := New(cfg, h)
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String()
}

// dialog sends a script and returns every reply line.
func dialog(t *testing.T, addr, script string) string {
	t.Helper()
	return dialogFrom(t, "127.0.0.1", addr, script)
}

// dialogFrom is dialog from the loopback address src.
func dialogFrom(t *testing.T, src, addr, script string) string {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go c.Write([]byte(script))
	b, _ := io.ReadAll(c)
	return string(b)
}

func TestDialogue(t *testing.T) {
	h := &sink{}
	addr := serve(t, h, nil)
	out := dialog(t, addr, "EHLO c\r\nRCPT TO:<a@x.test>\r\nMAIL FROM:<a b@x.test>\r\nMAIL FROM:<s@x.test>\r\n"+
		"RCPT TO:<v@foreign.test>\r\nRCPT TO:<1@x.test>\r\nRCPT TO:<2@x.test>\r\nRCPT TO:<3@x.test>\r\nRCPT TO:<4@x.test>\r\n"+
		"DATA\r\nSubject: t\nbare LF\r\n.\r\nQUIT\r\n")
	for _, want := range []string{"502 5.5.1 Missing MAIL FROM", "501 5.5.2", "550 5.7.1 relaying denied", "452 4.5.3 too many recipients", "250 2.0.0 queued as ID1", "221"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if h.count() != 1 || !strings.Contains(h.msgs[0], "Subject: t\r\nbare LF\r\n") || !strings.HasPrefix(h.msgs[0], "Received: from c ([127.0.0.1])") {
		t.Fatalf("queued %q", h.msgs)
	}
}

func TestQueueFailureIsTemporary(t *testing.T) {
	h := &sink{fail: &queue.TempError{Err: io.ErrShortWrite}}
	out := dialog(t, serve(t, h, nil), "EHLO c\r\nMAIL FROM:<s@x.test>\r\nRCPT TO:<1@x.test>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n")
	if !strings.Contains(out, "451 4.3.0 cannot write the queue") {
		t.Fatalf("full spool answered:\n%s", out)
	}
}

// TestHeloRepeatedClean: a HELO name with a terminal escape, a
// parenthesis and 2000 octets reaches neither Received nor the origin
// (logs, mail show) as it was sent.
func TestHeloRepeatedClean(t *testing.T) {
	h := &sink{}
	helo := "\x1b[2J\x1b]0;pwned\x07evil)(x" + strings.Repeat("a", 1900)
	out := dialog(t, serve(t, h, nil), "EHLO "+helo+"\r\nMAIL FROM:<s@x.test>\r\nRCPT TO:<1@x.test>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n")
	if h.count() != 1 {
		t.Fatalf("not queued:\n%s", out)
	}
	want := "[2J]0;pwnedevilx" + strings.Repeat("a", maxHelo-len("[2J]0;pwnedevilx"))
	if !strings.HasPrefix(h.msgs[0], "Received: from "+want+" ([127.0.0.1])\r\n") || !strings.HasSuffix(h.origins[0], "("+want+")") {
		t.Fatalf("Received %q\norigin %q", h.msgs[0][:80], h.origins[0])
	}
}

// TestMailLoopRefused: 50 Received fields from the client plus ours is
// past message.MaxHops.
func TestMailLoopRefused(t *testing.T) {
	h := &sink{}
	hops := strings.Repeat("Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n", 50)
	out := dialog(t, serve(t, h, nil), "EHLO c\r\nMAIL FROM:<s@x.test>\r\nRCPT TO:<1@x.test>\r\nDATA\r\n"+hops+"\r\nhi\r\n.\r\nQUIT\r\n")
	if !strings.Contains(out, "554 5.4.6") || h.count() != 0 {
		t.Fatalf("a looping message was not refused:\n%s", out)
	}
}

// TestDisconnectMidData: nothing queued, nothing acknowledged.
func TestDisconnectMidData(t *testing.T) {
	h := &sink{}
	addr := serve(t, h, nil)
	c, _ := net.Dial("tcp", addr)
	c.Write([]byte("EHLO c\r\nMAIL FROM:<s@x.test>\r\nRCPT TO:<1@x.test>\r\nDATA\r\nSubject: half\r\n"))
	time.Sleep(200 * time.Millisecond)
	c.Close()
	time.Sleep(200 * time.Millisecond)
	if h.count() != 0 {
		t.Fatal("a half message was queued")
	}
}

// TestStartTLSInjection: commands pipelined after STARTTLS in plaintext
// must not run inside the TLS session.
func TestStartTLSInjection(t *testing.T) {
	ca := mailtest.NewCA(t)
	cert := ca.Issue(t, "mx.test")
	h := &sink{}
	addr := serve(t, h, &tls.Config{Certificates: []tls.Certificate{cert}})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	readReply := func() string {
		var all string
		for {
			line, err := r.ReadString('\n')
			all += line
			if err != nil || len(line) < 4 || line[3] == ' ' {
				return all
			}
		}
	}
	readReply() // greeting
	c.Write([]byte("EHLO c\r\n"))
	if ehlo := readReply(); !strings.Contains(ehlo, "STARTTLS") {
		t.Fatalf("STARTTLS not offered:\n%s", ehlo)
	}
	c.Write([]byte("STARTTLS\r\nMAIL FROM:<injected@x.test>\r\n"))
	if reply := readReply(); !strings.HasPrefix(reply, "220") {
		t.Fatalf("STARTTLS: %q", reply)
	}
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		// The injected bytes broke the handshake: nothing ran inside
		// TLS either, which is what is asserted.
		t.Logf("handshake failed: %v", err)
		return
	}
	tr := bufio.NewReader(tc)
	tc.Write([]byte("EHLO c\r\nRCPT TO:<1@x.test>\r\n"))
	var out string
	for !strings.Contains(out, "RCPT") && !strings.Contains(out, "MAIL") {
		line, err := tr.ReadString('\n')
		out += line
		if err != nil {
			break
		}
	}
	if !strings.Contains(out, "Missing MAIL FROM") {
		t.Fatalf("the injected MAIL FROM ran inside TLS:\n%s", out)
	}
}

const validSession = "EHLO c\r\nMAIL FROM:<s@x.test>\r\nRCPT TO:<1@x.test>\r\nDATA\r\nhi\r\n.\r\n"

// FuzzSession feeds arbitrary bytes to a session: no panic, and a message
// is queued only after a DATA that ended with a lone dot or a BDAT LAST.
func FuzzSession(f *testing.F) {
	f.Add(validSession + "QUIT\r\n")
	f.Add("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@b>\r\nBDAT 3 LAST\r\nabc")
	f.Add("EHLO c\r\nMAIL FROM:<s@x.test> SIZE=99999999999\r\nRCPT TO:<1@x.test> NOTIFY=NEVER\r\nDATA\r\n\x00\r\n.\r\n")
	f.Add("RSET\r\nVRFY x\r\nNOOP\r\nAUTH PLAIN AAAA\r\nSTARTTLS\r\n")
	f.Fuzz(func(t *testing.T, script string) {
		h := &sink{}
		addr := serve(t, h, nil)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			c.Write([]byte(script))
			c.(*net.TCPConn).CloseWrite() // the server reads EOF after the script, and still answers
		}()
		io.Copy(io.Discard, c) // until the server ends the session
		if strings.HasPrefix(script, validSession) && h.count() != 1 {
			t.Fatalf("a valid session queued %d messages", h.count())
		}
		ended := strings.Contains(script, "\n.\r\n") || strings.Contains(strings.ToUpper(script), " LAST")
		if h.count() > 0 && !ended {
			t.Fatalf("queued without end of data: %q", script)
		}
	})
}

// TestLongLines: the backup MX refuses a 5000-octet line (the sender can
// resend it encoded); a listener for local software takes it for the
// handler to re-encode.
func TestLongLines(t *testing.T) {
	script := func(n int) string {
		return "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@mx.test>\r\nDATA\r\nSubject: l\r\n\r\n" + strings.Repeat("x", n) + "\r\n.\r\nQUIT\r\n"
	}
	mx := &sink{}
	addr := serve(t, mx, nil)
	if out := dialog(t, addr, script(1200)); !strings.Contains(out, "554 5.6.0") {
		t.Errorf("backup MX took a 1200-octet line:\n%s", out)
	}
	// Past go-smtp's own line limit (2000) the answer is its 500.
	if out := dialog(t, addr, script(5000)); !strings.Contains(out, "500 5.4.0") || mx.count() != 0 {
		t.Errorf("backup MX took a 5000-octet line:\n%s", out)
	}
	long := strings.Repeat("x", 5000)
	local := &sink{}
	out := dialog(t, serveConfig(t, local, Config{LongLines: true}), script(5000))
	if !strings.Contains(out, "250 2.0.0 queued as ID1") || local.count() != 1 || !strings.Contains(local.msgs[0], "\r\n"+long+"\r\n") {
		t.Errorf("local listener refused a long line:\n%s", out)
	}
}

// TestTwoMessagesOneSession: the transaction ends with DATA (and BDAT
// LAST), so the next MAIL is no nested one.
func TestTwoMessagesOneSession(t *testing.T) {
	h := &sink{}
	out := dialog(t, serve(t, h, nil), validSession+"MAIL FROM:<s@x.test>\r\nRCPT TO:<2@x.test>\r\nBDAT 4 LAST\r\nhi\r\n"+
		"MAIL FROM:<s@x.test>\r\nRCPT TO:<3@x.test>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n")
	if h.count() != 3 || strings.Contains(out, "nested") {
		t.Fatalf("queued %d:\n%s", h.count(), out)
	}
}
