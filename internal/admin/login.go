package admin

import (
	"embed"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"bartleby/internal/adminui"
)

// Limits of the login form: bcrypt reads 72 bytes of a password, and a
// user name longer than any configured one is logged cut short.
const (
	maxPassword = 72
	maxUserLog  = 64
)

//go:embed *.html
var pageFS embed.FS

var pages = template.Must(template.ParseFS(pageFS, "*.html"))

type loginData struct {
	CSRF  template.HTML
	Next  string
	User  string
	Error string
	Host  string
}

func (v *view) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if v.users == nil || v.session(w, r) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	v.renderLogin(w, r, http.StatusOK, loginData{Next: next})
}

func (v *view) renderLogin(w http.ResponseWriter, r *http.Request, code int, d loginData) {
	d.CSRF, d.Host = adminui.CSRFField(r), v.host
	var body strings.Builder
	if err := pages.ExecuteTemplate(&body, "login.html", d); err != nil {
		adminui.Error(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	adminui.RenderStatus(w, r, code, "Log in to "+v.host, template.HTML(body.String()))
}

// login checks a user name and password. Unknown users are checked against
// a dummy hash so that the answer takes as long as for a known one, and
// every failure counts towards the address's limit.
func (v *view) login(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostForm.Get("next"))
	if v.users == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	ip := clientIP(r, v.trusted)
	now := v.now()
	user, pass := r.PostForm.Get("user"), r.PostForm.Get("password")
	logUser := user[:min(len(user), maxUserLog)]
	if wait := v.limit.take(ip, now); wait > 0 {
		v.logins.WithLabelValues("limited").Inc()
		v.log.Warn("admin login refused: too many failures", "ip", ip.String(), "user", logUser)
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		adminui.Error(w, r, http.StatusTooManyRequests, "Too many failed logins from your address: wait a minute and try again.")
		return
	}
	if !v.checkPassword(user, pass) {
		v.logins.WithLabelValues("failed").Inc()
		v.log.Warn("admin login failed", "ip", ip.String(), "user", logUser)
		v.renderLogin(w, r, http.StatusUnauthorized, loginData{Next: next, User: user, Error: "Wrong user name or password."})
		return
	}
	v.limit.succeeded(ip)
	sess := v.sessions.create(user, v.users[user], now)
	http.SetCookie(w, cookie(sessionCookie, sess.id))
	v.logins.WithLabelValues("ok").Inc()
	v.log.Info("admin login", "ip", ip.String(), "user", user)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (v *view) checkPassword(user, pass string) bool {
	hash, known := v.users[user]
	if !known {
		hash = v.dummy
	}
	ok := bcrypt.CompareHashAndPassword(hash, []byte(pass)) == nil
	return known && ok && len(pass) <= maxPassword
}

func (v *view) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		v.sessions.remove(c.Value)
	}
	clearCookie(w, sessionCookie)
	v.log.Info("admin logout", "ip", clientIP(r, v.trusted).String(), "user", adminui.User(r))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect target on this site: a path, never a URL
// that a browser would take to another host ("//evil", "/\evil").
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.Contains(next, `\`) || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}
