package adminui

import (
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func render(r *http.Request, title string, body template.HTML) (int, string) {
	w := httptest.NewRecorder()
	Render(w, r, title, body)
	return w.Code, w.Body.String()
}

func TestRenderWithInfo(t *testing.T) {
	r := WithInfo(httptest.NewRequest("GET", "/maint/site1", nil), &Info{
		User: "o<p>s",
		CSRF: `tok"en`,
		Nav:  []Link{{"/", "Home"}, {"/queue", "Queue"}, {"/maint/", "Maintenance"}},
	})
	code, page := render(r, "A <title>", "<p>body</p>")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{
		"<title>A &lt;title&gt; · bartleby</title>",
		"<h1>A &lt;title&gt;</h1>",
		"<p>body</p>",
		`<a href="/">Home</a>`,
		`<a href="/queue">Queue</a>`,
		`<a href="/maint/" aria-current="page">Maintenance</a>`,
		"<span>o&lt;p&gt;s</span>",
		`<input type="hidden" name="csrf" value="tok&#34;en">`,
		`<link rel="stylesheet" href="/static/style.css">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s:\n%s", want, page)
		}
	}
	if User(r) != "o<p>s" || CSRFToken(r) != `tok"en` {
		t.Errorf("User %q, CSRFToken %q", User(r), CSRFToken(r))
	}
}

func TestRenderWithoutInfo(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	Error(w, r, http.StatusForbidden, "no <entry>")
	page := w.Body.String()
	if w.Code != http.StatusForbidden || !strings.Contains(page, "<h1>Forbidden</h1>") || !strings.Contains(page, "no &lt;entry&gt;") {
		t.Errorf("error page %d:\n%s", w.Code, page)
	}
	if strings.Contains(page, "<nav>") || strings.Contains(page, "logout") {
		t.Errorf("a page without info shows the navigation or a logout:\n%s", page)
	}
}

func TestRenderTemplate(t *testing.T) {
	tmpl := template.Must(template.New("x").Parse(`<form method="post">{{.CSRF}}<b>{{.Name}}</b></form>`))
	r := WithInfo(httptest.NewRequest("GET", "/x", nil), &Info{CSRF: "t"})
	w := httptest.NewRecorder()
	RenderTemplate(w, r, "X", tmpl, struct {
		CSRF template.HTML
		Name string
	}{CSRFField(r), "<i>"})
	if !strings.Contains(w.Body.String(), `<form method="post"><input type="hidden" name="csrf" value="t"><b>&lt;i&gt;</b></form>`) {
		t.Errorf("body:\n%s", w.Body)
	}
}

func TestStatic(t *testing.T) {
	w := httptest.NewRecorder()
	Static.ServeHTTP(w, httptest.NewRequest("GET", StylePath, nil))
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/css") ||
		!strings.Contains(w.Body.String(), "prefers-color-scheme: dark") {
		t.Errorf("style sheet: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
}
