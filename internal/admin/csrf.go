package admin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// Cookie names carry the __Host- prefix: browsers take them only over
// HTTPS, for this host alone, on path "/".
const (
	sessionCookie = "__Host-bartleby_session"
	csrfCookie    = "__Host-bartleby_csrf"
)

// csrfToken binds a token to the session id, or to the random value of the
// CSRF cookie when nobody is logged in (no login configured, or the login
// form itself). It is an HMAC under a key made at start, so a page on
// another site can neither read nor make one, and a cookie planted by a
// neighbour host is useless without the key.
func (s *Server) csrfToken(binding string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("bartleby admin csrf\x00"))
	m.Write([]byte(binding))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF checks the token of a POST against its binding.
func (s *Server) validCSRF(got, binding string) bool {
	if got == "" || binding == "" {
		return false
	}
	return hmac.Equal([]byte(got), []byte(s.csrfToken(binding)))
}

// csrfBinding returns the CSRF cookie's value, setting a new cookie when
// there is none (on GET, so that the page's forms can be posted).
func csrfBinding(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	if r.Method == http.MethodPost {
		return ""
	}
	v := randomID()
	http.SetCookie(w, cookie(csrfCookie, v))
	return v
}

// cookie is a cookie with every protection on.
func cookie(name, value string) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode}
}
