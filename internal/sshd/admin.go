package sshd

import (
	"fmt"
	"html/template"
	"net/http"
	"net/netip"
	"sort"

	"bartleby/internal/adminui"
	"bartleby/internal/part"
)

// AdminPages adds the SSH page: connections now, blocked addresses with
// an unblock button.
func (s *Server) AdminPages() []part.AdminPage {
	return []part.AdminPage{{Path: "/ssh", Title: "SSH", Handler: http.HandlerFunc(s.serveAdmin)}}
}

var adminTmpl = template.Must(template.New("ssh").Parse(`
{{with .Done}}<p id="notice" class="ok" role="status">{{.}}</p>{{end}}
<h2>Connections now ({{len .Conns}})</h2>
{{if .Conns}}<ul>{{range .Conns}}<li><code>{{.}}</code></li>{{end}}</ul>{{else}}<p class="muted">Nobody is connected.</p>{{end}}
<h2>Blocked addresses ({{len .Blocked}})</h2>
<p class="muted">An address is blocked after too many failed logins in a row; an IPv6 address stands for its /64. The same on the command line: <code>bartleby sftp unblock ADDR</code>.</p>
{{if .Blocked}}<table class="rows"><thead><tr><th scope="col">Address</th><th scope="col">Blocked until</th><th scope="col"><span class="sr">Action</span></th></tr></thead><tbody>
{{range .Blocked}}<tr><td data-label="Address"><code>{{.Addr}}</code></td><td data-label="Until">{{.Until.Format "2006-01-02 15:04:05 MST"}}</td>
<td><form method="post" class="inline">{{$.CSRF}}<input type="hidden" name="addr" value="{{.Addr}}"><button>Unblock</button></form></td></tr>{{end}}
</tbody></table>{{else}}<p class="ok">No address is blocked.</p>{{end}}
`))

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		addr, err := netip.ParseAddr(r.PostFormValue("addr"))
		if err != nil {
			adminui.Error(w, r, http.StatusBadRequest, "not an IP address")
			return
		}
		was := s.defender.Unblock(addr)
		s.log.Info("address unblocked by the operator", "event", "ssh.unblocked", "addr", addr, "was_blocked", was, "user", adminui.User(r))
		http.Redirect(w, r, "/ssh?unblocked="+addr.String(), http.StatusSeeOther)
		return
	}
	data := struct {
		Done    string
		Conns   []string
		Blocked []Blocked
		CSRF    template.HTML
	}{Conns: s.connAddrs(), Blocked: s.blocked(), CSRF: adminui.CSRFField(r)}
	if a, err := netip.ParseAddr(r.URL.Query().Get("unblocked")); err == nil {
		data.Done = a.String() + " is unblocked."
	}
	adminui.RenderTemplate(w, r, "SSH", adminTmpl, data)
}

func (s *Server) blocked() []Blocked {
	list := s.defender.List()
	sort.Slice(list, func(i, j int) bool { return list[i].Addr < list[j].Addr })
	return list
}

// connAddrs are the remote addresses of the connections open now.
func (s *Server) connAddrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c.RemoteAddr().String())
	}
	sort.Strings(out)
	return out
}

// Summary is the SSH card: connections now, failed logins in the last
// hour and blocked addresses.
func (s *Server) Summary() []part.Card {
	c := part.Card{Title: "SSH", Link: "/ssh"}
	c.Facts = append(c.Facts,
		part.Fact{Label: "Connections now", Value: fmt.Sprint(len(s.connAddrs()))},
		part.Fact{Label: "Failed logins, last hour", Value: fmt.Sprint(s.failedHour.Count())})
	b := part.Fact{Label: "Blocked addresses", Value: fmt.Sprint(len(s.defender.List()))}
	if b.Value != "0" {
		b.Level = part.Warning
		c.Level = part.Warning
	}
	c.Facts = append(c.Facts, b)
	return []part.Card{c}
}
