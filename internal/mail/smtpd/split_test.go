package smtpd

import (
	"log/slog"
	"net"
	"strings"
	"testing"
)

// TestSplitByClient: on one shared listener, the local client reaches the
// submission server, which takes a 5000-octet line to re-encode, and
// relays; anyone else reaches the backup MX server: 554 for a 1200-octet
// line, go-smtp's 500 past 2000, and no relaying.
func TestSplitByClient(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	cfg := Config{Name: "test", Hostname: "mx.test", MaxSize: 1 << 16, MaxRecipients: 3, Log: log}
	mx, sub := &sink{}, &relay{}
	mxSrv := New(cfg, mx)
	cfg.LongLines = true
	subSrv := New(cfg, sub)
	local, remote := Split(limit(ln, 100, 10, 0, PreMailTimeout, only("127.0.0.5"), log), only("127.0.0.5"))
	go subSrv.Serve(local)
	go mxSrv.Serve(remote)
	t.Cleanup(func() { subSrv.Close(); mxSrv.Close() })
	addr := ln.Addr().String()

	script := func(to string, n int) string {
		return "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<" + to + ">\r\nDATA\r\nSubject: l\r\n\r\n" + strings.Repeat("x", n) + "\r\n.\r\nQUIT\r\n"
	}
	for _, tc := range []struct {
		src, to string
		n       int
		want    string
	}{
		{"127.0.0.5", "v@foreign.test", 5000, "250 2.0.0 queued as ID1"},
		{"127.0.0.1", "v@foreign.test", 10, "550 5.7.1 relaying denied"},
		{"127.0.0.1", "u@mx.test", 1200, "554 5.6.0"},
		{"127.0.0.1", "u@mx.test", 5000, "500 5.4.0"}, // pipelined: go-smtp's limit hits before DATA
		{"127.0.0.1", "u@mx.test", 10, "250 2.0.0 queued as ID1"},
	} {
		if out := dialogFrom(t, tc.src, addr, script(tc.to, tc.n)); !strings.Contains(out, tc.want) {
			t.Errorf("from %s, %d-octet line to %s: want %q in\n%s", tc.src, tc.n, tc.to, tc.want, out)
		}
	}
	if sub.count() != 1 || !strings.Contains(sub.msgs[0], strings.Repeat("x", 5000)) || mx.count() != 1 {
		t.Errorf("submission got %d messages, the backup MX %d; want 1 each", sub.count(), mx.count())
	}
	// Closing one side closes the shared listener for both.
	subSrv.Close()
	if _, err := remote.Accept(); err == nil {
		t.Error("the backup MX side still accepts after the listener closed")
	}
}

// relay is a sink that accepts every recipient, as submission does.
type relay struct{ sink }

func (*relay) Rcpt(string) error { return nil }
