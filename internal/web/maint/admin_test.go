package maint

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"bartleby/internal/adminui"
)

func TestAdminPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, basicConf)
	pages := f.m.AdminPages()
	if len(pages) != 1 || pages[0].Path != "/maintenance" {
		t.Fatalf("pages: %+v", pages)
	}
	h := pages[0].Handler
	do := func(method string, form url.Values) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/maintenance", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r = adminui.WithInfo(r, &adminui.Info{User: "ops", CSRF: "csrf-token-value"})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := do("GET", nil)
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, `name="csrf" value="csrf-token-value"`) || !strings.Contains(body, "other.example") {
		t.Fatalf("GET: %d\n%s", w.Code, body)
	}
	w = do("POST", url.Values{"action": {"on"}, "site": {"example.org"}, "for": {"2h"}, "message": {"db upgrade"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("POST on: %d\n%s", w.Code, w.Body)
	}
	st := f.m.Status()[0]
	if !st.On || st.Mode.Who != "ops (admin UI)" || st.Mode.Message != "db upgrade" || time.Until(st.Mode.Until) < 119*time.Minute {
		t.Fatalf("after POST on: %+v %+v", st, st.Mode)
	}
	body = do("GET", nil).Body.String()
	if !strings.Contains(body, "in maintenance") || !strings.Contains(body, "ops (admin UI)") || !strings.Contains(body, "End maintenance") {
		t.Errorf("GET after on:\n%s", body)
	}
	w = do("POST", url.Values{"action": {"on"}, "site": {"nope"}})
	if w.Code != 200 || !strings.Contains(w.Body.String(), "example.org, other.example") {
		t.Errorf("unknown site: %d\n%s", w.Code, w.Body)
	}
	w = do("POST", url.Values{"action": {"on"}, "site": {"other.example"}, "for": {"soon"}})
	if !strings.Contains(w.Body.String(), "not a duration") || f.m.Status()[1].On {
		t.Errorf("bad duration accepted:\n%s", w.Body)
	}
	if w = do("POST", url.Values{"action": {"off"}, "site": {"example.org"}}); w.Code != http.StatusSeeOther || f.m.Status()[0].On {
		t.Errorf("POST off: %d %+v", w.Code, f.m.Status()[0])
	}
}
