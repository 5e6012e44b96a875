package clock

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/beevik/ntp"
)

// fakeServer answers NTP on loopback with a clock shifted by offset; mutate
// changes each reply (KoD, unsynchronised, wrong origin…).
func fakeServer(t *testing.T, offset time.Duration, mutate func(*Packet)) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			q, err := ParsePacket(buf[:n])
			if err != nil {
				continue
			}
			now := time.Now().Add(offset)
			p := Packet{Version: q.Version, Mode: ModeServer, Stratum: 2, Precision: -20, RefID: 0x7f000001,
				RefTime: Timestamp(now.Add(-time.Minute)), Origin: q.Transmit, Receive: Timestamp(now), Transmit: Timestamp(now),
				RootDelay: Short(10 * time.Millisecond), RootDisp: Short(10 * time.Millisecond)}
			if mutate != nil {
				mutate(&p)
			}
			c.WriteToUDP(p.Append(nil), from)
		}
	}()
	return c.LocalAddr().String()
}

func quick(warn, crit time.Duration) Options {
	return Options{Warn: warn, Crit: crit, Samples: 1, Timeout: time.Second}
}

func TestCheckOffsets(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		offset time.Duration
		want   Status
		breaks string
	}{
		{0, OK, "nothing common breaks"},
		{-500 * time.Millisecond, Warning, "nothing common breaks"},
		{20 * time.Minute, Critical, "S3/AWS"},
		{-6 * time.Minute, Critical, "Kerberos"},
	} {
		// The offset is the servers' time minus the local clock.
		srv := fakeServer(t, tc.offset, nil)
		r := Check(context.Background(), []string{srv}, quick(100*time.Millisecond, time.Second))
		if r.Status != tc.want || r.Valid != 1 || r.Stratum != 2 {
			t.Errorf("offset %s: status %s valid %d stratum %d, want %s; %+v", tc.offset, r.Status, r.Valid, r.Stratum, tc.want, r.Answers)
		}
		if d := (r.Offset - tc.offset).Abs(); d > 50*time.Millisecond {
			t.Errorf("offset %s measured as %s", tc.offset, r.Offset)
		}
		if !strings.Contains(r.Line(), tc.breaks) {
			t.Errorf("offset %s: line %q lacks %q", tc.offset, r.Line(), tc.breaks)
		}
		checkNagios(t, r)
	}
}

func TestCheckRejectsBadAnswers(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		mutate func(*Packet)
		want   string
	}{
		"kod":       {func(p *Packet) { p.Stratum, p.Leap, p.RefID = 0, LeapUnsync, kiss("RATE") }, `kiss-of-death "RATE"`},
		"unsync":    {func(p *Packet) { p.Leap = LeapUnsync }, "leap indicator 3"},
		"stratum16": {func(p *Packet) { p.Stratum = 16 }, "stratum 16"},
		"distance":  {func(p *Packet) { p.RootDisp = Short(3 * time.Second) }, "root distance"},
		"origin":    {func(p *Packet) { p.Origin++ }, "didn't match"},
		"mode":      {func(p *Packet) { p.Mode = ModeClient }, "invalid mode"},
	} {
		srv := fakeServer(t, 0, tc.mutate)
		r := Check(context.Background(), []string{srv}, quick(0, 0))
		if r.Status != Unknown || r.Valid != 0 || len(r.Answers) != 1 || !strings.Contains(r.Answers[0].Err, tc.want) {
			t.Errorf("%s: %s %+v, want UNKNOWN with %q", name, r.Status, r.Answers, tc.want)
		}
		checkNagios(t, r)
	}
}

func TestCheckBestStratum(t *testing.T) {
	t.Parallel()
	good := fakeServer(t, 0, func(p *Packet) { p.Stratum = 1 })
	worse := fakeServer(t, time.Hour, func(p *Packet) { p.Stratum = 3 })
	kod := fakeServer(t, 0, func(p *Packet) { p.Stratum = 0; p.RefID = kiss("DENY") })
	r := Check(context.Background(), []string{good, worse, kod}, Options{Warn: time.Second, Crit: 2 * time.Second})
	if r.Status != OK || r.Stratum != 1 || r.Valid != 2 || r.Offset.Abs() > 50*time.Millisecond {
		t.Fatalf("%+v", r)
	}
}

// checkNagios parses a plugin line strictly: "CLOCK STATE - text | perf".
func checkNagios(t *testing.T, r Result) {
	t.Helper()
	line := r.Nagios()
	head, perf, hasPerf := strings.Cut(line, " | ")
	if !strings.HasPrefix(head, "CLOCK "+r.Status.String()+" - ") || strings.Contains(head, "|") || strings.Contains(line, "\n") {
		t.Errorf("bad nagios line %q", line)
	}
	if hasPerf != (r.Stratum != 0) {
		t.Errorf("perfdata presence wrong in %q", line)
	}
	if hasPerf && !strings.HasPrefix(perf, "offset=") || strings.Count(perf, ";") != 4 && hasPerf {
		t.Errorf("bad perfdata %q", perf)
	}
}

func TestBreaks(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want []string
	}{
		{40 * time.Second, []string{"TOTP", "next: Kerberos"}},
		{20 * time.Minute, []string{"TOTP", "Kerberos", "S3/AWS", "not yet valid", "next: fresh Let's Encrypt"}},
		{2 * time.Hour, []string{"Let's Encrypt", "TLS validity checks fail"}},
		{-2 * time.Hour, []string{"S3/AWS", "TLS validity checks fail"}},
		{-5 * time.Second, []string{"expiring within the skew", "next: TOTP"}},
	} {
		got := Breaks(tc.d)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("Breaks(%s) = %q, lacks %q", tc.d, got, w)
			}
		}
	}
}

func TestPacketRoundTrip(t *testing.T) {
	now := time.Unix(1_800_000_000, 123456789)
	p := Packet{Leap: 3, Version: 4, Mode: 4, Stratum: 16, Poll: 6, Precision: -20, RootDelay: 1, RootDisp: 2,
		RefID: 3, RefTime: 4, Origin: 5, Receive: Timestamp(now), Transmit: 7}
	q, err := ParsePacket(p.Append(nil))
	if err != nil || q != p {
		t.Fatalf("%+v %v", q, err)
	}
	if d := Time(q.Receive).Sub(now).Abs(); d > time.Microsecond {
		t.Fatalf("timestamp round trip off by %s", d)
	}
}

func FuzzParsePacket(f *testing.F) {
	good := (&Packet{Version: 4, Mode: 3, Transmit: 42}).Append(nil)
	f.Add(good)
	f.Add(good[:47])
	f.Add(append(good, make([]byte, 20)...))
	f.Add((&Packet{Version: 2, Mode: 7}).Append(nil))
	f.Add([]byte{0xff})
	s := NewServer(ServerOptions{Rate: 1, Burst: 1, Clients: 4, Leak: 2,
		Upstream: func() Upstream { return Upstream{Synced: true, Stratum: 1} }})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePacket(b)
		if err != nil {
			return
		}
		if q, err := ParsePacket(p.Append(nil)); err != nil || q != p {
			t.Fatalf("re-encode: %+v %v", q, err)
		}
		reply, ok := s.answer(b, ntpTestAddr, time.Now(), nil)
		if ok && (len(reply) > len(b) || p.Mode != ModeClient) {
			t.Fatalf("answered mode %d with %d bytes for %d", p.Mode, len(reply), len(b))
		}
		if ok {
			r, _ := ParsePacket(reply)
			if r.Origin != p.Transmit || r.Mode != ModeServer {
				t.Fatalf("reply %+v to %+v", r, p)
			}
		}
	})
}

var _ = ntp.Query
