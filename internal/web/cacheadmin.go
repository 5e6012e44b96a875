package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"bartleby/internal/adminui"
	"bartleby/internal/control"
	"bartleby/internal/part"
	"bartleby/internal/web/proxycache"
)

// Commands are the maintenance commands ("maint.on", …) and "cache.purge".
func (w *Web) Commands() map[string]control.Handler {
	cmds := w.maint.Commands()
	cmds["cache.purge"] = func(_ context.Context, raw json.RawMessage) (any, error) {
		var a proxycache.PurgeArgs
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("bad arguments: %w", err)
		}
		n, err := w.purge(a.Site, a.Prefix)
		return proxycache.PurgeResult{Purged: n}, err
	}
	return cmds
}

// AdminPages are the maintenance page and the cache page of the admin UI.
func (w *Web) AdminPages() []part.AdminPage {
	return append(w.maint.AdminPages(), part.AdminPage{Path: "/cache", Title: "Cache", Handler: http.HandlerFunc(w.serveCacheAdmin)})
}

// purge empties the caches of a site's routes of the paths under prefix.
func (w *Web) purge(site, prefix string) (int, error) {
	if prefix == "" {
		prefix = "/"
	}
	if !strings.HasPrefix(prefix, "/") {
		return 0, fmt.Errorf("the path prefix %q must start with /", prefix)
	}
	s := w.table.Load().site(site)
	if s == nil {
		return 0, fmt.Errorf("no site %q (a site is named by its first host)", site)
	}
	if len(s.caches) == 0 {
		return 0, fmt.Errorf("site %q has no cached route", site)
	}
	n := 0
	for _, c := range s.caches {
		n += c.Purge(prefix)
	}
	w.log.Info("cache purged", "site", site, "prefix", prefix, "entries", n)
	return n, nil
}

// site is the site named name, nil for none.
func (t *table) site(name string) *site {
	for _, m := range []map[string]*site{t.exact, t.wild} {
		for _, s := range m {
			if s.name == name {
				return s
			}
		}
	}
	return nil
}

// cachedSites names the sites with a cache, sorted.
func (t *table) cachedSites() []string {
	var names []string
	for _, m := range []map[string]*site{t.exact, t.wild} {
		for _, s := range m {
			if len(s.caches) > 0 && !slices.Contains(names, s.name) {
				names = append(names, s.name)
			}
		}
	}
	slices.Sort(names)
	return names
}

var cacheTmpl = template.Must(template.New("cache").Parse(`
<p class="muted">Purging drops cached answers so that the next request asks the application.
The same on the command line: <code>bartleby cache purge SITE [PATH-PREFIX]</code>.</p>
{{if .Error}}<p class="bad" role="alert">{{.Error}}</p>{{end}}
{{if .Done}}<p class="ok" role="status">{{.Done}}</p>{{end}}
{{if not .Sites}}<p>No route has a cache.</p>{{else}}
<div class="scroll"><table>
<thead><tr><th scope="col">Site</th><th scope="col">Purge</th></tr></thead>
<tbody>
{{range .Sites}}<tr><th scope="row">{{.}}</th>
<td><form method="post" class="inline">{{$.CSRF}}<input type="hidden" name="site" value="{{.}}">
<label>Path prefix <input type="text" name="prefix" value="/" maxlength="1000"></label>
<button type="submit" class="danger">Purge</button></form></td></tr>{{end}}
</tbody></table></div>{{end}}`))

func (w *Web) serveCacheAdmin(rw http.ResponseWriter, r *http.Request) {
	var msg, done string
	if r.Method == http.MethodPost {
		// The admin listener checked the CSRF token before we got here.
		site := r.PostFormValue("site")
		if n, err := w.purge(site, r.PostFormValue("prefix")); err != nil {
			msg = err.Error()
		} else {
			done = fmt.Sprintf("Purged %d entries of %s.", n, site)
		}
	}
	adminui.RenderTemplate(rw, r, "Cache", cacheTmpl, struct {
		CSRF        template.HTML
		Error, Done string
		Sites       []string
	}{adminui.CSRFField(r), msg, done, w.table.Load().cachedSites()})
}
