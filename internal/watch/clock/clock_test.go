package clock

import (
	"strings"
	"testing"
	"time"

	"github.com/beevik/ntp"
)

func quick(warn, crit time.Duration) Options {
	return Options{Warn: warn, Crit: crit, Samples: 1, Timeout: time.Second}
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
