// Package adminui is what admin pages share: the layout, the logged-in user and
// the CSRF token. Parts that add admin pages (through part.AdminPage) render
// through it so that every page looks the same and carries the same
// protections.
//
// The admin listener runs every page handler behind its access rules (IP
// allowlist, login when admin.users is set, a CSRF check on every POST) and
// tells this package about the request with WithInfo. A page then:
//
//	func (q *queuePage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
//		if r.Method == http.MethodPost {
//			// The CSRF token was checked before we got here.
//			q.flush()
//			http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
//			return
//		}
//		ui.RenderTemplate(w, r, "Mail queue", queueTmpl, struct {
//			CSRF  template.HTML
//			Items []item
//		}{ui.CSRFField(r), q.items()})
//	}
//
// with a form like `<form method="post">{{.CSRF}}<button>Flush</button></form>`.
//
// Rules for pages: change state only on POST (the listener refuses other
// methods than GET, HEAD and POST, and a POST without a valid token); put
// ui.CSRFField(r) in every form; no inline script or style (the Content
// Security Policy forbids them), use the classes of the shared style sheet
// (static/style.css): class "rows" on a table (one card per row on a phone,
// each td with a data-label), class "ok", "warn" or "bad" on a status,
// class "danger" on a destructive button. A part's health for the home page
// is a part.Card, from part.Summarizer.
package adminui

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"net/http"
	"strings"
)

// CSRFFieldName is the form field that carries the CSRF token.
const CSRFFieldName = "csrf"

// StylePath is where the admin listener serves the style sheet.
const StylePath = "/static/style.css"

//go:embed layout.html
var layoutSrc string

//go:embed static
var static embed.FS

// Static serves the style sheet under /static/.
var Static http.Handler = http.FileServerFS(static)

var layout = template.Must(template.New("layout").Parse(layoutSrc))

// Link is one entry of the navigation.
type Link struct {
	Path  string
	Title string
}

// Info is what the admin listener knows about a request that pages show:
// who is logged in, the CSRF token of their forms and the navigation.
type Info struct {
	User string // empty when admin.users is not set
	CSRF string
	Nav  []Link
}

type infoKey struct{}

// WithInfo attaches the request's Info; the admin listener calls it before
// handing the request to a page.
func WithInfo(r *http.Request, info *Info) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
}

func info(r *http.Request) *Info {
	if i, ok := r.Context().Value(infoKey{}).(*Info); ok {
		return i
	}
	return &Info{}
}

// User is the logged-in user, or "" when no login is configured.
func User(r *http.Request) string { return info(r).User }

// CSRFToken is the token a POST from this page must carry in the
// CSRFFieldName form field.
func CSRFToken(r *http.Request) string { return info(r).CSRF }

// CSRFField is the hidden input carrying the CSRF token, for forms.
func CSRFField(r *http.Request) template.HTML {
	return template.HTML(`<input type="hidden" name="` + CSRFFieldName + `" value="` +
		template.HTMLEscapeString(CSRFToken(r)) + `">`)
}

// page is what the layout shows.
type page struct {
	Title string
	Body  template.HTML
	User  string
	CSRF  template.HTML
	Nav   []navLink
}

type navLink struct {
	Link
	Current bool
}

// Render writes a page with the shared layout: the navigation of every
// admin page, the user with a logout button, the title and body.
func Render(w http.ResponseWriter, r *http.Request, title string, body template.HTML) {
	RenderStatus(w, r, http.StatusOK, title, body)
}

// RenderStatus is Render with another status code than 200.
func RenderStatus(w http.ResponseWriter, r *http.Request, code int, title string, body template.HTML) {
	in := info(r)
	p := page{Title: title, Body: body, User: in.User, CSRF: CSRFField(r)}
	for _, l := range in.Nav {
		p.Nav = append(p.Nav, navLink{l, current(l.Path, r.URL.Path)})
	}
	var buf bytes.Buffer
	if err := layout.Execute(&buf, p); err != nil {
		http.Error(w, "rendering the page failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// RenderTemplate executes t with data as the body of a page.
func RenderTemplate(w http.ResponseWriter, r *http.Request, title string, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		http.Error(w, "rendering the page failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	Render(w, r, title, template.HTML(buf.String()))
}

// Error writes an error page: the status text as title, msg below it.
func Error(w http.ResponseWriter, r *http.Request, code int, msg string) {
	body := template.HTML(`<p class="bad">` + template.HTMLEscapeString(msg) + `</p>`)
	RenderStatus(w, r, code, http.StatusText(code), body)
}

// current reports whether the navigation link path is the page at
// urlPath; a path ending in "/" covers the pages below it.
func current(path, urlPath string) bool {
	if path == urlPath {
		return true
	}
	return path != "/" && strings.HasSuffix(path, "/") && strings.HasPrefix(urlPath, path)
}
