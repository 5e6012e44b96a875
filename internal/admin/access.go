package admin

import (
	"net/http"
	"net/netip"

	"bartleby/internal/adminui"
	"bartleby/internal/realip"
)

// clientIP is the address a request comes from (see realip.From); when it
// cannot be known, the invalid Addr, which no allowlist contains.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ip, ok := realip.From(r, trusted)
	if !ok {
		return netip.Addr{}
	}
	return ip
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
			adminui.Error(w, r, http.StatusMethodNotAllowed, "The admin UI answers GET, HEAD and POST only.")
			return
		}
		ip := clientIP(r, v.trusted)
		if !realip.Contains(v.allow, ip) {
			v.log.Info("admin access denied", "event", "admin.denied", "ip", ipString(ip), "peer", r.RemoteAddr, "path", r.URL.Path)
			adminui.Error(w, r, http.StatusForbidden, "Your address is not allowed to use the admin UI (see admin.allow).")
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
