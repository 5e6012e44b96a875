package clock

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/ntp"

	"bartleby/internal/testutil"
)

var ntpTestAddr = netip.MustParseAddr("192.0.2.1")

func startResponder(t *testing.T, addr string, synced *atomic.Bool, o ServerOptions) (*Server, string) {
	t.Helper()
	o.Upstream = func() Upstream {
		return Upstream{Synced: synced.Load(), Stratum: 2, RefID: 0xc0000201, MaxErr: time.Millisecond}
	}
	o.Log = slog.New(slog.DiscardHandler)
	s := NewServer(o)
	a, err := s.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, a.String()
}

func TestResponderAnswersSyncedOnly(t *testing.T) {
	t.Parallel()
	var synced atomic.Bool
	synced.Store(true)
	_, addr := startResponder(t, "127.0.0.1:0", &synced, ServerOptions{Rate: 100, Burst: 100, Clients: 10, Leak: 4})
	r, err := ntp.QueryWithOptions(addr, ntp.QueryOptions{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil || r.Stratum != 3 || r.Leap != 0 || r.ClockOffset.Abs() > 20*time.Millisecond {
		t.Fatalf("synced answer: %v stratum %d leap %d offset %s", err, r.Stratum, r.Leap, r.ClockOffset)
	}
	if r.ReferenceID != 0xc0000201 {
		t.Errorf("refid %x", r.ReferenceID)
	}
	synced.Store(false)
	r, err = ntp.QueryWithOptions(addr, ntp.QueryOptions{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Validate() == nil || r.Stratum != 16 || r.Leap != ntp.LeapNotInSync || r.ReferenceID != 0 {
		t.Fatalf("unsynced answer: stratum %d leap %d refid %x", r.Stratum, r.Leap, r.ReferenceID)
	}
	// Through the clock check, the unsynchronised server is refused.
	res := Check(context.Background(), []string{addr}, quick(0, 0))
	if res.Status != Unknown || !strings.Contains(res.Answers[0].Err, "not synchronised") {
		t.Fatalf("%+v", res)
	}
}

func TestResponderIgnoresControlAndShort(t *testing.T) {
	t.Parallel()
	var synced atomic.Bool
	synced.Store(true)
	s, addr := startResponder(t, "127.0.0.1:0", &synced, ServerOptions{Rate: 100, Burst: 100, Clients: 10, Leak: 4})
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, q := range [][]byte{
		(&Packet{Version: 2, Mode: ModeControl}).Append(nil),
		append((&Packet{Version: 2, Mode: ModePrivate}).Append(nil), make([]byte, 100)...),
		(&Packet{Version: 4, Mode: ModeClient}).Append(nil)[:47],
		(&Packet{Version: 4, Mode: ModeServer}).Append(nil),
		(&Packet{Version: 0, Mode: ModeClient}).Append(nil),
	} {
		c.Write(q)
	}
	// A good query after them is answered, and is the only answer.
	good := (&Packet{Version: 4, Mode: ModeClient, Transmit: 0x1234}).Append(nil)
	c.Write(good)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePacket(buf[:n])
	if err != nil || n != PacketSize || p.Origin != 0x1234 || p.Mode != ModeServer {
		t.Fatalf("reply %d bytes %+v %v", n, p, err)
	}
	if s.Ignored.Load() != 5 || s.Answered.Load() != 1 {
		t.Fatalf("ignored %d answered %d", s.Ignored.Load(), s.Answered.Load())
	}
	// Receive is taken before transmit, both near now.
	recv, xmt := Time(p.Receive), Time(p.Transmit)
	if xmt.Before(recv) || time.Since(recv).Abs() > time.Second {
		t.Fatalf("receive %s transmit %s", recv, xmt)
	}
}

func TestLimiterKoDAndLeak(t *testing.T) {
	l := newLimiter(1, 2, 3, 4)
	a := netip.MustParseAddr("192.0.2.7")
	now := time.Unix(1000, 0)
	var got []verdict
	for range 10 {
		got = append(got, l.allow(a, now))
	}
	want := []verdict{verdictAnswer, verdictAnswer, verdictKoD, verdictDrop, verdictDrop, verdictAnswer, verdictDrop, verdictDrop, verdictDrop, verdictAnswer}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("verdicts %v, want %v", got, want)
		}
	}
	// A second later one token is back.
	if v := l.allow(a, now.Add(time.Second)); v != verdictAnswer {
		t.Fatalf("after refill: %v", v)
	}
	// The memory cap holds under a flood of sources.
	for i := range 1000 {
		l.allow(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), now)
	}
	if len(l.buckets) > 3 {
		t.Fatalf("%d buckets kept, cap 3", len(l.buckets))
	}
}

func TestResponderRateKoD(t *testing.T) {
	t.Parallel()
	var synced atomic.Bool
	synced.Store(true)
	s, addr := startResponder(t, "127.0.0.1:0", &synced, ServerOptions{Rate: 0.001, Burst: 1, Clients: 10, Leak: 1000})
	if _, err := ntp.QueryWithOptions(addr, ntp.QueryOptions{Timeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	r, err := ntp.QueryWithOptions(addr, ntp.QueryOptions{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !r.IsKissOfDeath() || r.KissCode != "RATE" {
		t.Fatalf("second query: stratum %d kiss %q", r.Stratum, r.KissCode)
	}
	if s.KoD.Load() != 1 {
		t.Fatalf("kod %d", s.KoD.Load())
	}
}

// TestResponderRealClients queries the responder with Debian's sntp
// (ntpdig) and ntpdate -q. Neither can use another port than 123, so the
// responder binds 127.0.0.1:123, which needs root.
func TestResponderRealClients(t *testing.T) {
	sntp := testutil.Need(t, "sntp")
	ntpdate := testutil.Need(t, "ntpdate")
	if os.Geteuid() != 0 && !testutil.InCI() {
		t.Skip("sntp and ntpdate only query port 123; binding it needs root")
	}
	var synced atomic.Bool
	synced.Store(true)
	startResponder(t, "127.0.0.1:123", &synced, ServerOptions{Rate: 100, Burst: 100, Clients: 10, Leak: 4})
	run := func(cmd string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, cmd, args...).CombinedOutput()
		return string(out), err
	}
	out, err := run(sntp, "-t", "2", "127.0.0.1")
	if err != nil || !strings.Contains(out, "s3 no-leap") {
		t.Fatalf("sntp on a synced responder: %v\n%s", err, out)
	}
	out, err = run(ntpdate, "-q", "-t", "2", "127.0.0.1")
	if err != nil || !strings.Contains(out, "s3 no-leap") {
		t.Fatalf("ntpdate -q on a synced responder: %v\n%s", err, out)
	}
	synced.Store(false)
	for _, c := range [][]string{{sntp, "-t", "2", "127.0.0.1"}, {ntpdate, "-q", "-t", "2", "127.0.0.1"}} {
		out, err := run(c[0], c[1:]...)
		if err == nil || !strings.Contains(out, "no eligible servers") {
			t.Fatalf("%s did not refuse an unsynchronised responder: %v\n%s", c[0], err, out)
		}
	}
}
