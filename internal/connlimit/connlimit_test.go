package connlimit

import (
	"net/netip"
	"testing"
)

func TestLimiter(t *testing.T) {
	t.Parallel()
	l := New(8, 3)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i := range 3 {
		if !l.Take(a) {
			t.Fatalf("a's connection %d refused", i+1)
		}
	}
	if l.Take(a) {
		t.Error("a got more than perAddr")
	}
	for i := range 3 {
		if !l.Take(b) {
			t.Fatalf("b's connection %d refused", i+1)
		}
	}
	// 6 of 8 taken: the last 2 are kept for addresses holding none.
	if l.Take(netip.MustParseAddr("::ffff:192.0.2.1")) {
		t.Error("a (IPv4-mapped) took a reserved slot")
	}
	c, d := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	if !l.Take(c) {
		t.Fatal("a new address was refused a reserved slot")
	}
	if l.Take(d) {
		t.Error("the same /64 took a second reserved slot")
	}
	if !l.Take(netip.MustParseAddr("198.51.100.1")) || l.Take(netip.MustParseAddr("198.51.100.2")) {
		t.Error("total not enforced at 8")
	}
	if !l.Holds(a) || !l.Holds(d) || l.Holds(netip.MustParseAddr("203.0.113.9")) {
		t.Error("Holds: a, and d by its /64, hold slots; 203.0.113.9 none")
	}
	l.Give(a)
	if !l.Take(netip.MustParseAddr("198.51.100.2")) {
		t.Error("a slot given back was not reusable")
	}
}

// TestTrustedOnlyCountTowardTotal: a trusted address is spared perAddr and
// the reserve, never the total, and its slots count for everyone.
func TestTrustedOnlyCountTowardTotal(t *testing.T) {
	t.Parallel()
	l := New(4, 1)
	local := netip.MustParseAddr("127.0.0.1")
	for i := range 3 {
		if !l.TakeTrusted(local) {
			t.Fatalf("trusted connection %d refused", i+1)
		}
	}
	if l.Take(local) {
		t.Error("Take ignored perAddr for an address holding trusted slots")
	}
	if !l.Take(netip.MustParseAddr("192.0.2.1")) {
		t.Fatal("the last slot was refused to a new address")
	}
	if l.TakeTrusted(local) {
		t.Error("a trusted connection went over the total")
	}
	l.Give(local)
	if !l.TakeTrusted(local) {
		t.Error("a trusted slot given back was not reusable")
	}
}

// TestKey: an IPv4 address counts alone, also written IPv4-mapped; an
// IPv6 address counts as its /64.
func TestKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"192.0.2.7": "192.0.2.7", "::ffff:192.0.2.7": "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::", "2001:db8:1:2::ffff": "2001:db8:1:2::"} {
		if got := Key(netip.MustParseAddr(in)).String(); got != want {
			t.Errorf("Key(%s) = %s, want %s", in, got, want)
		}
	}
}
