package realip

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

var trusted = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:1::/48")}

func request(remote string, xff ...string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = remote
	for _, v := range xff {
		r.Header.Add("X-Forwarded-For", v)
	}
	return r
}

func TestFrom(t *testing.T) {
	for _, tc := range []struct {
		remote string
		xff    []string
		want   string // "" means not ok
	}{
		{"192.0.2.9:5555", nil, "192.0.2.9"},
		{"[::ffff:192.0.2.9]:5555", nil, "192.0.2.9"},
		{"192.0.2.9", nil, "192.0.2.9"},
		{"192.0.2.9:5555", []string{"203.0.113.5"}, "192.0.2.9"}, // from an untrusted peer: ignored
		{"198.51.100.1:1", []string{"203.0.113.5"}, "203.0.113.5"},
		{"198.51.100.1:1", []string{"203.0.113.5:5555"}, "203.0.113.5"},
		{"198.51.100.1:1", []string{"[2001:db8::5]:80"}, "2001:db8::5"},
		{"198.51.100.1:1", []string{"6.6.6.6, 203.0.113.5, 198.51.100.2"}, "203.0.113.5"}, // proxies skipped from the right
		{"198.51.100.1:1", []string{"6.6.6.6", "203.0.113.5"}, "203.0.113.5"},             // several header lines
		{"[2001:db8:1::1]:1", []string{"198.51.100.9"}, "198.51.100.9"},                   // every hop trusted: the last one
		{"198.51.100.1:1", nil, "198.51.100.1"},                                           // no header: the proxy itself
		{"198.51.100.1:1", []string{"garbage"}, ""},
		{"198.51.100.1:1", []string{"203.0.113.5, garbage"}, ""},
		{"198.51.100.1:1", []string{strings.Repeat("203.0.113.5,", MaxHops) + "203.0.113.5"}, ""},
		{"nonsense", nil, ""},
	} {
		got, ok := From(request(tc.remote, tc.xff...), trusted)
		if tc.want == "" {
			if ok {
				t.Errorf("%s %q: got %v, want not ok", tc.remote, tc.xff, got)
			}
			continue
		}
		if !ok || got != netip.MustParseAddr(tc.want) {
			t.Errorf("%s %q: got %v %v, want %s", tc.remote, tc.xff, got, ok, tc.want)
		}
	}
}

func FuzzFrom(f *testing.F) {
	for _, s := range []string{"203.0.113.5", "1.2.3.4, 5.6.7.8", "[::1]:80", "::ffff:1.2.3.4", "", ",,", "x, 198.51.100.2", "fe80::1%eth0"} {
		f.Add("198.51.100.1:1234", s)
		f.Add("[2001:db8::2]:80", s)
	}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := request(remote, xff)
		ip, ok := From(r, trusted)
		peer := Peer(r)
		if !peer.IsValid() {
			if ok {
				t.Fatalf("ok for the unreadable peer %q", remote)
			}
			return
		}
		if !Contains(trusted, peer) {
			if !ok || ip != peer {
				t.Fatalf("X-Forwarded-For %q believed from untrusted %q: %v %v", xff, remote, ip, ok)
			}
			return
		}
		if !ok {
			return
		}
		if ip.Is4In6() {
			t.Errorf("%q gave a mapped address %s", xff, ip)
		}
		// The answer is the right-most entry that is not a trusted proxy,
		// or the last entry walked when all are trusted.
		hops := strings.Split(xff, ",")
		if xff == "" {
			if ip != peer {
				t.Fatalf("no header gave %s, not the peer", ip)
			}
			return
		}
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := parseHop(hops[i])
			if err != nil {
				t.Fatalf("%q gave %s past the unparsable entry %q", xff, ip, hops[i])
			}
			if hop == ip {
				return
			}
			if !Contains(trusted, hop) {
				t.Fatalf("%q gave %s, not the right-most untrusted entry %s", xff, ip, hop)
			}
		}
		t.Fatalf("%q gave %s, which is not in the header", xff, ip)
	})
}
