// Package realip finds the address a request really comes from behind
// trusted reverse proxies. Every part that judges or records a client
// address (the admin allowlist, the maintenance bypass allowlist, the web
// front's proxy headers and access log) asks it, so that one rule decides
// who a client is and X-Forwarded-For is believed only from trusted_proxies.
package realip

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// MaxHops bounds how many X-Forwarded-For entries are looked at; a longer
// chain is not walked.
const MaxHops = 32

// From returns the address a request comes from: the TCP peer, or, when the
// peer is a trusted proxy, the right-most X-Forwarded-For entry that is not
// itself a trusted proxy (entries left of it could have been written by
// anybody). ok is false when the answer cannot be known: an unreadable
// peer, an unparsable entry, or a chain longer than MaxHops. Callers that
// grant access on the address must then grant nothing.
func From(r *http.Request, trusted []netip.Prefix) (addr netip.Addr, ok bool) {
	ip := Peer(r)
	if !ip.IsValid() {
		return ip, false
	}
	if !Contains(trusted, ip) {
		return ip, true
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
		if len(hops) > MaxHops {
			return netip.Addr{}, false
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := parseHop(hops[i])
		if err != nil {
			return netip.Addr{}, false
		}
		ip = hop
		if !Contains(trusted, ip) {
			return ip, true
		}
	}
	return ip, true
}

// Peer is the TCP peer of a request ("ip:port", or a bare ip), with
// IPv4-mapped addresses unmapped; the invalid Addr when unreadable.
func Peer(r *http.Request) netip.Addr {
	ip, err := parseHop(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ip
}

// parseHop parses one address as proxies and net/http write them: bare,
// with a port, or in brackets.
func parseHop(s string) (netip.Addr, error) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), nil
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	return ip.Unmap(), err
}

// Contains reports whether ip is in one of nets; the invalid Addr is in
// none.
func Contains(nets []netip.Prefix, ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}
