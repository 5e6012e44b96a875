package mail

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"bartleby/internal/adminui"
	"bartleby/internal/mail/maildrop"
	"bartleby/internal/mail/queue"
	"bartleby/internal/part"
)

// Queue page limits: a flush is an expensive thing to let a browser
// trigger, so one per 30 s (the seed worried about flush as a DoS).
const (
	flushEvery     = 30 * time.Second
	pageFlushWait  = 20 * time.Second
	pageRefresh    = "30"
	lowDiskPercent = 10
)

// AdminPages adds the queue page (and its JSON at /mail/api).
func (m *Mail) AdminPages() []part.AdminPage {
	return []part.AdminPage{{Path: "/mail/", Title: "Mail queue", Handler: &queuePage{m: m}}}
}

type queuePage struct {
	m         *Mail
	mu        sync.Mutex
	lastFlush time.Time
}

func (p *queuePage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/mail/api" && r.Method != http.MethodPost:
		p.api(w)
	case r.URL.Path == "/mail/flush" && r.Method == http.MethodPost:
		p.flush(w, r)
	case r.URL.Path == "/mail/message" && r.Method == http.MethodPost:
		p.act(w, r)
	case r.URL.Path == "/mail/" && r.Method != http.MethodPost:
		p.show(w, r)
	default:
		adminui.Error(w, r, http.StatusNotFound, "no such page")
	}
}

// Summary is the queue page's data, also served as JSON.
type Summary struct {
	Count         int              `json:"count"`
	TotalSize     int64            `json:"total_size"`
	OldestSeconds float64          `json:"oldest_seconds"`
	Disk          Disk             `json:"disk"`
	Messages      []queue.Envelope `json:"messages"`
	SetAside      []maildrop.Aside `json:"set_aside"` // drops that could not be queued
}

// Disk is the space of the spool's filesystem.
type Disk struct {
	Path        string  `json:"path"`
	Total       uint64  `json:"total"`
	Free        uint64  `json:"free"`         // available to bartleby
	UsedPercent float64 `json:"used_percent"` // as df shows it
	Error       string  `json:"error,omitempty"`
}

func (m *Mail) summary() Summary {
	s := Summary{Messages: m.q.List(), SetAside: m.setAside(), Disk: diskOf(m.q.Dir())}
	s.Count = len(s.Messages)
	for _, e := range s.Messages {
		s.TotalSize += e.Size
	}
	if s.Count > 0 {
		s.OldestSeconds = time.Since(s.Messages[0].Received).Seconds()
	}
	return s
}

func diskOf(dir string) Disk {
	d := Disk{Path: dir}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		d.Error = err.Error()
		return d
	}
	// As df counts: blocks reserved for root are neither used nor free.
	d.Total = st.Blocks * uint64(st.Bsize)
	d.Free = st.Bavail * uint64(st.Bsize)
	used := (st.Blocks - st.Bfree) * uint64(st.Bsize)
	if used+d.Free > 0 {
		d.UsedPercent = 100 * float64(used) / float64(used+d.Free)
	}
	return d
}

func (p *queuePage) api(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(p.m.summary())
}

var queueTmpl = template.Must(template.New("queue").Funcs(template.FuncMap{
	"bytes": humanBytes, "age": func(t time.Time) string { return humanAge(time.Since(t)) },
}).Parse(`
{{with .Notice}}<p id="notice" class="{{.Class}}">{{.Text}}</p>{{end}}
<p>{{.S.Count}} message(s), {{bytes .S.TotalSize}}{{if .S.Count}}, oldest {{.Oldest}}{{end}}.</p>
{{with .S.Disk}}{{if .Error}}<p class="bad">Spool disk: {{.Error}}</p>{{else}}
<p class="{{$.DiskClass}}">Spool disk ({{.Path}}): {{bytes .Total}} total, {{bytes .Free}} free, {{printf "%.0f" .UsedPercent}}% used.</p>{{end}}{{end}}
<form method="post" action="/mail/flush">{{.CSRF}}<button>Flush the queue</button></form>
{{with .Confirm}}<form method="post" action="/mail/message">{{$.CSRF}}
<input type="hidden" name="id" value="{{.ID}}"><input type="hidden" name="op" value="{{.Op}}">
<p class="warn">{{.Op}} message {{.ID}}?{{if eq .Op "delete"}} It is removed without a bounce.{{end}}</p>
<button class="danger">Yes, {{.Op}} it</button> <a href="/mail/">Cancel</a></form>{{end}}
{{if .S.Messages}}<div class="scroll"><table>
<tr><th>ID</th><th>Age</th><th>From</th><th>To</th><th>Size</th><th>Attempts</th><th>Last error</th><th>Next attempt</th><th></th></tr>
{{range .S.Messages}}<tr>
<td>{{.ID}}{{if .Held}} <span class="warn">held</span>{{end}}</td><td>{{age .Received}}</td>
<td>{{if .From}}{{.From}}{{else}}&lt;&gt;{{end}}</td>
<td>{{range .Rcpts}}{{if .Open}}{{.Addr}}<br>{{end}}{{end}}</td>
<td>{{bytes .Size}}</td><td>{{.Attempts}}</td><td class="bad">{{.LastError}}</td>
<td>{{if .Held}}on hold{{else if .NextAttempt.IsZero}}now{{else}}{{.NextAttempt.Format "15:04:05 MST"}}{{end}}</td>
<td class="inline"><a href="/mail/?confirm={{.ID}}&amp;op={{if .Held}}release{{else}}hold{{end}}">{{if .Held}}release{{else}}hold{{end}}</a>
<a href="/mail/?confirm={{.ID}}&amp;op=delete">delete</a></td></tr>
{{end}}</table></div>{{else}}<p class="ok">The queue is empty.</p>{{end}}
{{with .S.SetAside}}<h2>Set aside from the maildrop</h2>
<p class="bad">These messages were handed to sendmail while the daemon was down and could not be queued. Release one once the cause is fixed (it is picked up again within seconds), or delete it.</p>
<div class="scroll"><table><tr><th>Drop</th><th>Age</th><th>UID</th><th>Size</th><th>Reason</th><th></th></tr>
{{range .}}<tr><td>{{.Name}} <span class="warn">set aside</span></td><td>{{age .Time}}</td><td>{{.UID}}</td><td>{{bytes .Size}}</td><td class="bad">{{.Reason}}</td>
<td class="inline"><a href="/mail/?confirm={{.Name}}&amp;op=release">release</a> <a href="/mail/?confirm={{.Name}}&amp;op=delete">delete</a></td></tr>
{{end}}</table></div>{{end}}
<p class="muted">Refreshes every {{.Refresh}} s. JSON: <a href="/mail/api">/mail/api</a>.</p>
`))

type notice struct{ Text, Class string }

func (p *queuePage) show(w http.ResponseWriter, r *http.Request) {
	s := p.m.summary()
	data := struct {
		S         Summary
		Oldest    string
		DiskClass string
		CSRF      template.HTML
		Notice    *notice
		Confirm   *struct{ ID, Op string }
		Refresh   string
	}{S: s, Oldest: humanAge(time.Duration(s.OldestSeconds) * time.Second), DiskClass: "ok",
		CSRF: adminui.CSRFField(r), Notice: noticeFrom(r.URL.Query()), Refresh: pageRefresh}
	if s.Disk.Total > 0 && 100-s.Disk.UsedPercent < lowDiskPercent {
		data.DiskClass = "bad"
	}
	q := r.URL.Query()
	if id, op := q.Get("confirm"), q.Get("op"); id != "" && (op == "hold" || op == "release" || op == "delete") {
		data.Confirm = &struct{ ID, Op string }{id, op}
	} else {
		w.Header().Set("Refresh", pageRefresh)
	}
	adminui.RenderTemplate(w, r, "Mail queue", queueTmpl, data)
}

// noticeFrom rebuilds the result of the last POST from the redirect's
// query: only known messages with numbers, so a link cannot put words on
// the page.
func noticeFrom(q url.Values) *notice {
	n := func(k string) int { v, _ := strconv.Atoi(q.Get(k)); return v }
	switch q.Get("done") {
	case "flush":
		return &notice{fmt.Sprintf("Flush: %d attempted, %d delivered, %d deferred, %d bounced, %d still in progress.",
			n("n"), n("delivered"), n("deferred"), n("bounced"), n("pending")), "ok"}
	case "wait":
		return &notice{fmt.Sprintf("A flush was done less than %s ago; the next one is allowed in %d s.", flushEvery, n("s")), "warn"}
	case "hold", "release", "delete":
		if q.Get("ok") == "1" {
			return &notice{"Message " + safeID(q.Get("id")) + ": " + q.Get("done") + " done.", "ok"}
		}
		return &notice{"Message " + safeID(q.Get("id")) + " is not in the queue any more.", "warn"}
	}
	return nil
}

func safeID(s string) string {
	if maildrop.ValidName(s) {
		return s
	}
	if len(s) > 64 || strings.Trim(s, "0123456789ABCDEF") != "" {
		return "?"
	}
	return s
}

func (p *queuePage) flush(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	wait := flushEvery - time.Since(p.lastFlush)
	if wait <= 0 {
		p.lastFlush = time.Now()
	}
	p.mu.Unlock()
	if wait > 0 {
		http.Redirect(w, r, fmt.Sprintf("/mail/?done=wait&s=%d", int(wait.Seconds())+1), http.StatusSeeOther)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), pageFlushWait)
	defer cancel()
	out := p.m.run.flush(ctx, nil)
	count := map[string]int{}
	for _, o := range out {
		count[o.Result]++
	}
	p.m.log.Info("queue flushed from the admin page", "event", "mail.flushed", "user", adminui.User(r), "messages", len(out))
	http.Redirect(w, r, fmt.Sprintf("/mail/?done=flush&n=%d&delivered=%d&deferred=%d&bounced=%d&pending=%d",
		len(out), count["delivered"]+count["partial"], count["deferred"], count["bounced"], count["pending"]), http.StatusSeeOther)
}

func (p *queuePage) act(w http.ResponseWriter, r *http.Request) {
	id, op := r.PostFormValue("id"), r.PostFormValue("op")
	var o Outcome
	switch op {
	case "hold":
		o = p.m.setHold(id, true)
	case "release":
		o = p.m.setHold(id, false)
	case "delete":
		o = p.m.deleteOne(id)
	default:
		adminui.Error(w, r, http.StatusBadRequest, "unknown action")
		return
	}
	ok := "0"
	if o.Result != "error" {
		ok = "1"
	}
	p.m.log.Info("queue action from the admin page", "event", "mail.admin_action", "user", adminui.User(r), "id", id, "op", op, "result", o.Result)
	http.Redirect(w, r, "/mail/?done="+op+"&ok="+ok+"&id="+url.QueryEscape(safeID(id)), http.StatusSeeOther)
}

func humanBytes(n any) string {
	var v float64
	switch x := n.(type) {
	case int64:
		v = float64(x)
	case uint64:
		v = float64(x)
	}
	for _, u := range []string{"B", "KB", "MB", "GB", "TB"} {
		if v < 1024 || u == "TB" {
			if u == "B" {
				return fmt.Sprintf("%.0f %s", v, u)
			}
			return fmt.Sprintf("%.1f %s", v, u)
		}
		v /= 1024
	}
	return ""
}

func humanAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
