package watchtest

import (
	"net"
	"testing"
	"time"

	"bartleby/internal/watch/clock"
)

// NTPServer answers NTP on loopback with a clock shifted by offset; mutate
// changes each reply (KoD, unsynchronised, wrong origin…). It returns the
// server's address.
func NTPServer(t testing.TB, offset time.Duration, mutate func(*clock.Packet)) string {
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
			q, err := clock.ParsePacket(buf[:n])
			if err != nil {
				continue
			}
			now := time.Now().Add(offset)
			p := clock.Packet{Version: q.Version, Mode: clock.ModeServer, Stratum: 2, Precision: -20, RefID: 0x7f000001,
				RefTime: clock.Timestamp(now.Add(-time.Minute)), Origin: q.Transmit, Receive: clock.Timestamp(now), Transmit: clock.Timestamp(now),
				RootDelay: clock.Short(10 * time.Millisecond), RootDisp: clock.Short(10 * time.Millisecond)}
			if mutate != nil {
				mutate(&p)
			}
			c.WriteToUDP(p.Append(nil), from)
		}
	}()
	return c.LocalAddr().String()
}
