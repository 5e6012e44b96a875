package admin

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"bartleby/internal/adminui"
)

// maxFormBytes bounds the body of a POST to an admin page.
const maxFormBytes = 1 << 20

// reserved are the admin listener's own paths; part pages cannot take them.
var reserved = []string{"/", "/login", "/logout", "/logs", "/certs", "/metrics", "/healthz", "/static/"}

func (v *view) routes() (*http.ServeMux, error) {
	mux := http.NewServeMux()
	mux.Handle("GET "+adminui.StylePath, adminui.Static)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	if v.deps.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(v.deps.Metrics, promhttp.HandlerOpts{
			ErrorLog:            v.promLog(),
			MaxRequestsInFlight: 4,
			Timeout:             30 * time.Second,
		}))
	}
	mux.Handle("GET /login", v.wrap(http.HandlerFunc(v.loginPage), false))
	mux.Handle("POST /login", v.wrap(http.HandlerFunc(v.login), false))
	mux.Handle("POST /logout", v.wrap(http.HandlerFunc(v.logout), true))
	mux.Handle("GET /{$}", v.wrap(http.HandlerFunc(v.home), true))
	mux.Handle("/", v.wrap(http.HandlerFunc(notFound), true))
	v.nav = []adminui.Link{{Path: "/", Title: "Home"}}
	if v.deps.Logs != nil {
		mux.Handle("GET /logs", v.wrap(http.HandlerFunc(v.logs), true))
	}
	if v.deps.Certs != nil {
		mux.Handle("GET /certs", v.wrap(http.HandlerFunc(v.certsPage), true))
	}
	seen := map[string]bool{}
	for _, p := range v.deps.Pages {
		if err := checkPagePath(p.Path, seen); err != nil {
			return nil, err
		}
		mux.Handle(p.Path, v.wrap(p.Handler, true))
		if p.Title != "" {
			v.nav = append(v.nav, adminui.Link{Path: p.Path, Title: p.Title})
		}
	}
	if v.deps.Certs != nil {
		v.nav = append(v.nav, adminui.Link{Path: "/certs", Title: "Certificates"})
	}
	if v.deps.Logs != nil {
		v.nav = append(v.nav, adminui.Link{Path: "/logs", Title: "Logs"})
	}
	return mux, nil
}

// checkPagePath refuses a part page path that would clash with another
// page or the listener's own, or that ServeMux would read as more than a
// path (a method, a host, a wildcard).
func checkPagePath(p string, seen map[string]bool) error {
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	switch {
	case !strings.HasPrefix(p, "/") || clean != p || strings.ContainsAny(p, "{} \t\n"):
		return fmt.Errorf("admin page %q: the path must be a clean absolute path without wildcards", p)
	case seen[p]:
		return fmt.Errorf("admin page %q: two pages on one path", p)
	}
	for _, r := range reserved {
		if strings.TrimSuffix(p, "/") == strings.TrimSuffix(r, "/") || (strings.HasSuffix(r, "/") && r != "/" && strings.HasPrefix(p, r)) {
			return fmt.Errorf("admin page %q: the path is the admin UI's own", p)
		}
	}
	seen[p] = true
	return nil
}

// wrap runs h behind the page rules: a login when needLogin and users are
// configured, a valid CSRF token on POST; it hands h the adminui.Info.
func (v *view) wrap(h http.Handler, needLogin bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &adminui.Info{}
		var binding string
		if needLogin && v.users != nil {
			sess := v.session(w, r)
			if sess == nil {
				v.toLogin(w, r)
				return
			}
			info.User, binding = sess.user, sess.id
		} else {
			binding = csrfBinding(w, r)
		}
		if needLogin {
			info.Nav = v.nav
		}
		if binding != "" {
			info.CSRF = v.csrfToken(binding)
		}
		r = adminui.WithInfo(r, info)
		if r.Method == http.MethodPost && !v.checkCSRF(w, r, binding) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// checkCSRF parses the form of a POST (bounded) and checks its token,
// answering the error itself when it fails.
func (v *view) checkCSRF(w http.ResponseWriter, r *http.Request, binding string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseMultipartForm(maxFormBytes); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		adminui.Error(w, r, http.StatusBadRequest, "The form could not be read: "+err.Error())
		return false
	}
	if !v.validCSRF(r.PostForm.Get(adminui.CSRFFieldName), binding) {
		v.log.Warn("admin POST refused: missing or bad CSRF token", "ip", ipString(clientIP(r, v.trusted)), "path", r.URL.Path)
		adminui.Error(w, r, http.StatusForbidden, "The form's security token is missing or stale: go back, reload the page and try again.")
		return false
	}
	return true
}

// session returns the live session of the request's cookie, or nil. A
// cookie naming no live session (expired, or from before a restart) is
// cleared, and so is a session of a user the config no longer has with
// the same password hash (dropped or changed by a reload).
func (v *view) session(w http.ResponseWriter, r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || v.users == nil {
		return nil
	}
	sess := v.sessions.get(c.Value, v.now())
	if sess != nil && !bytes.Equal(v.users[sess.user], sess.hash) {
		v.sessions.remove(c.Value)
		sess = nil
	}
	if sess == nil {
		clearCookie(w, sessionCookie)
	}
	return sess
}

func clearCookie(w http.ResponseWriter, name string) {
	c := cookie(name, "")
	c.MaxAge = -1
	http.SetCookie(w, c)
}

// toLogin sends a request without a login to the login form, which comes
// back here afterwards.
func (v *view) toLogin(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Path
	if r.Method != http.MethodPost && r.URL.RawQuery != "" {
		next += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
}

func notFound(w http.ResponseWriter, r *http.Request) {
	adminui.Error(w, r, http.StatusNotFound, "There is no admin page at "+r.URL.Path+".")
}

// promLog passes promhttp's errors to the part's log.
func (v *view) promLog() *log.Logger {
	return slog.NewLogLogger(v.log.Handler(), slog.LevelError)
}
