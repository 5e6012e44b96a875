package maint

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func FuzzAccept(f *testing.F) {
	for _, s := range []string{"application/json", "text/html;q=0.9, application/json;q=1.0", "*/*", "application/json;q=0", "application/json;q=1.5", ";;;,,", "application/ld+json; q=0.001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", accept)
		wantsJSON(r)
		for _, part := range strings.Split(accept, ",") {
			if _, q := mediaRange(part); q < 0 || q > 1 {
				t.Fatalf("q=%v from %q", q, part)
			}
		}
	})
}

func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "192.0.2.1, 10.0.0.1", "garbage", "", "::ffff:10.0.0.1", ",,,", "2001:db8::1%eth0"} {
		f.Add("10.0.0.1:1234", s)
		f.Add("[2001:db8::2]:80", s)
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		ip, ok := clientIP(r, trusted)
		peer, peerOK := parseAddr(remote)
		if ok != peerOK {
			t.Fatalf("ok=%v for peer %q", ok, remote)
		}
		if ok && !contains(trusted, peer) && ip != peer {
			t.Fatalf("X-Forwarded-For %q believed from untrusted %q: %v", xff, remote, ip)
		}
	})
}
