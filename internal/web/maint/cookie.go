package maint

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CookieName is the bypass cookie set by the secret URL.
const CookieName = "bartleby_bypass"

// Limits on what the cookie parser looks at: a Cookie header larger than
// maxCookieHeader is ignored as a whole, and a value that is not exactly
// the expected shape is never verified.
const (
	maxCookieHeader = 8 << 10
	cookieVersion   = "v1"
	macLen          = 43 // base64url of 32 bytes, no padding
	maxExpiryDigits = 12
)

// deriveKey turns the bypass secret into the cookie-signing key, so the
// token in the URL and the key are never the same bytes.
func deriveKey(secret string) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("bartleby maintenance bypass cookie v1"))
	return mac.Sum(nil)
}

// cookieMAC signs the site name and the expiry.
func cookieMAC(key []byte, site string, exp int64) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(site))
	mac.Write([]byte{0})
	mac.Write([]byte(strconv.FormatInt(exp, 10)))
	return mac.Sum(nil)
}

// signCookie makes the cookie value "v1.EXPIRY.MAC" for site.
func signCookie(key []byte, site string, exp time.Time) string {
	e := exp.Unix()
	return cookieVersion + "." + strconv.FormatInt(e, 10) + "." +
		base64.RawURLEncoding.EncodeToString(cookieMAC(key, site, e))
}

// parseCookie splits a cookie value into its expiry and MAC, refusing any
// other shape (extra dots, signs, leading zeros, padding, wrong lengths).
func parseCookie(v string) (exp int64, mac []byte, ok bool) {
	rest, found := strings.CutPrefix(v, cookieVersion+".")
	if !found {
		return 0, nil, false
	}
	es, ms, found := strings.Cut(rest, ".")
	if !found || len(es) == 0 || len(es) > maxExpiryDigits || es[0] == '0' || len(ms) != macLen {
		return 0, nil, false
	}
	for i := 0; i < len(es); i++ {
		if es[i] < '0' || es[i] > '9' {
			return 0, nil, false
		}
	}
	exp, err := strconv.ParseInt(es, 10, 64)
	if err != nil {
		return 0, nil, false
	}
	mac, err = base64.RawURLEncoding.Strict().DecodeString(ms)
	if err != nil || len(mac) != sha256.Size {
		return 0, nil, false
	}
	return exp, mac, true
}

// verifyCookie checks one cookie value for site at now.
func verifyCookie(key []byte, site, v string, now time.Time) bool {
	exp, mac, ok := parseCookie(v)
	if !ok {
		return false
	}
	good := hmac.Equal(mac, cookieMAC(key, site, exp))
	return good && now.Unix() < exp
}

// validCookie reports whether the request carries a valid bypass cookie.
// It runs for every 503, so it looks for the cookie by hand rather than with
// Request.CookiesNamed, which allocates; it finds what CookiesNamed would
// (FuzzCookieHeader compares them).
func validCookie(r *http.Request, key []byte, site string, now time.Time) bool {
	lines := r.Header["Cookie"]
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, CookieName) }) {
		return false
	}
	n, count := 0, 0
	for _, l := range lines {
		n += len(l)
		count += strings.Count(l, ";") + 1
	}
	if n > maxCookieHeader || count > maxCookies {
		return false
	}
	for _, l := range lines {
		for l != "" {
			var c string
			c, l, _ = strings.Cut(l, ";")
			name, v, _ := strings.Cut(trimHTTPSpace(c), "=")
			if trimHTTPSpace(name) == CookieName && verifyCookie(key, site, unquote(v), now) {
				return true
			}
		}
	}
	return false
}

// maxCookies is net/http's limit on the cookies of a request: with more,
// it sees none.
const maxCookies = 3000

// trimHTTPSpace removes the spaces HTTP allows around a header's parts.
func trimHTTPSpace(s string) string { return strings.Trim(s, " \t\r\n") }

// unquote removes the double quotes a cookie value may be sent in.
func unquote(v string) string {
	if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}
