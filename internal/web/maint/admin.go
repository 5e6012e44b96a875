package maint

import (
	"fmt"
	"html/template"
	"net"
	"net/http"
	"time"

	"bartleby/internal/adminui"
	"bartleby/internal/config"
	"bartleby/internal/part"
)

// AdminPages is the maintenance page of the admin UI: every site's state
// with who switched it, when and until when, and the switch itself.
func (m *Manager) AdminPages() []part.AdminPage {
	return []part.AdminPage{{Path: "/maintenance", Title: "Maintenance", Handler: http.HandlerFunc(m.serveAdmin)}}
}

var adminTmpl = template.Must(template.New("maint").Parse(`
<p class="muted">A site in maintenance answers 503 with its maintenance page, except to its
allowlist and to holders of the bypass cookie. The same switch on the command line:
<code>bartleby maint on SITE --for 2h</code>.</p>
{{if .Error}}<p class="bad" role="alert">{{.Error}}</p>{{end}}
<table class="rows">
<thead><tr><th scope="col">Site</th><th scope="col">State</th><th scope="col">Since</th><th scope="col">By</th><th scope="col">Until</th><th scope="col">Message</th><th scope="col">Bypass</th><th scope="col">Switch</th></tr></thead>
<tbody>
{{range .Sites}}<tr>
<th scope="row">{{.Site}}</th>
{{if .On}}<td data-label="State" class="warn">in maintenance</td><td data-label="Since">{{.Mode.Since.UTC.Format "2006-01-02 15:04 UTC"}}</td><td data-label="By">{{.Mode.Who}}</td>
<td data-label="Until">{{if .Mode.Until.IsZero}}until switched off{{else}}{{.Mode.Until.UTC.Format "2006-01-02 15:04 UTC"}}{{end}}</td><td data-label="Message">{{.Mode.Message}}</td>
{{else}}<td data-label="State" class="ok">up{{if .WhenBackendDown}} <span class="muted">(automatic when the backend is down)</span>{{end}}</td><td></td><td></td><td></td><td></td>{{end}}
<td data-label="Bypass">{{.Bypass}}</td>
<td>{{if .On}}<form method="post" class="inline">{{$.CSRF}}<input type="hidden" name="site" value="{{.Site}}"><input type="hidden" name="action" value="off"><button type="submit">End maintenance</button></form>
{{else}}<form method="post" class="stack">{{$.CSRF}}<input type="hidden" name="site" value="{{.Site}}"><input type="hidden" name="action" value="on">
<label>For (e.g. 2h, empty: until switched off)<input type="text" name="for" maxlength="16"></label>
<label>Message<input type="text" name="message" maxlength="2000"></label>
<button type="submit" class="danger">Start maintenance</button></form>{{end}}</td>
</tr>{{end}}
</tbody></table>`))

func (m *Manager) serveAdmin(w http.ResponseWriter, r *http.Request) {
	var msg string
	if r.Method == http.MethodPost {
		// The admin listener checked the CSRF token before we got here.
		if err := m.adminSwitch(r); err != nil {
			msg = err.Error()
		} else {
			http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
			return
		}
	}
	adminui.RenderTemplate(w, r, "Maintenance", adminTmpl, struct {
		CSRF  template.HTML
		Error string
		Sites []SiteStatus
	}{adminui.CSRFField(r), msg, m.Status()})
}

// adminSwitch applies the admin form.
func (m *Manager) adminSwitch(r *http.Request) error {
	site, by := r.PostFormValue("site"), adminWho(r)
	switch r.PostFormValue("action") {
	case "off":
		return m.Off(site, by)
	case "on":
		md := Mode{Site: site, Who: by, Message: r.PostFormValue("message")}
		if f := r.PostFormValue("for"); f != "" {
			d, err := config.ParseDuration(f)
			if err != nil || d <= 0 {
				return fmt.Errorf("for: %q is not a duration (like \"30m\", \"2h\", \"1d\")", f)
			}
			md.Until = m.now().Add(d).UTC().Truncate(time.Second)
		}
		_, err := m.On(md)
		return err
	}
	return fmt.Errorf("unknown action")
}

// adminWho names the admin user, or their address without a login.
func adminWho(r *http.Request) string {
	if u := adminui.User(r); u != "" {
		return u + " (admin UI)"
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "admin UI from " + host
}
