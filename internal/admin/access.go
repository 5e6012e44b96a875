package admin

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"bartleby/internal/admin/ui"
)

// maxForwardHops bounds how many X-Forwarded-For entries are looked at; a
// longer chain is refused rather than walked.
const maxForwardHops = 32

// clientIP is the address a request comes from: the TCP peer, or, when the
// peer is a trusted proxy, the right-most X-Forwarded-For entry that is not
// itself a trusted proxy. Entries left of that one could have been written
// by anybody. An unparsable chain gives the invalid Addr, which no
// allowlist contains.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	ip := peer.Addr().Unmap()
	if !contains(trusted, ip) {
		return ip
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	if len(hops) > maxForwardHops {
		return netip.Addr{}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := parseHop(hops[i])
		if err != nil {
			return netip.Addr{}
		}
		ip = hop
		if !contains(trusted, ip) {
			return ip
		}
	}
	return ip
}

// parseHop parses one X-Forwarded-For entry: an address, possibly with a
// port or in brackets, as proxies write them.
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

func contains(nets []netip.Prefix, ip netip.Addr) bool {
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

// securityHeaders are on every answer of the admin listener: no framing,
// no inline script or style, no referrer leaking admin URLs, no caching of
// pages showing the state of the host.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}

// guard is the outermost handler: security headers, the allowed methods
// and the IP allowlist, for every path.
func (v *view) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodPost:
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			ui.Error(w, r, http.StatusMethodNotAllowed, "The admin UI answers GET, HEAD and POST only.")
			return
		}
		ip := clientIP(r, v.trusted)
		if !contains(v.allow, ip) {
			v.log.Info("admin access denied", "ip", ipString(ip), "peer", r.RemoteAddr, "path", r.URL.Path)
			ui.Error(w, r, http.StatusForbidden, "Your address is not allowed to use the admin UI (see admin.allow).")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func ipString(ip netip.Addr) string {
	if !ip.IsValid() {
		return "unparsable X-Forwarded-For"
	}
	return ip.String()
}
