package mail

import (
	"context"
	"embed"
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

//go:embed admin_*.html
var adminFS embed.FS

var adminTmpl = template.Must(template.New("").Funcs(template.FuncMap{
	"bytes": humanBytes,
	"age":   func(now, t time.Time) string { return humanAge(now.Sub(t)) },
}).ParseFS(adminFS, "admin_*.html"))

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
	post := r.Method == http.MethodPost
	switch {
	case r.URL.Path == "/mail/api" && !post:
		p.api(w)
	case r.URL.Path == "/mail/flush" && post:
		p.flush(w, r)
	case r.URL.Path == "/mail/bulk" && post:
		p.bulk(w, r)
	case r.URL.Path == "/mail/message" && !post:
		p.message(w, r)
	case r.URL.Path == "/mail/" && !post:
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

// Disk is the space of the spool's filesystem as bartleby, an
// unprivileged user, sees it: the blocks reserved for root are neither
// used nor available to it.
type Disk struct {
	Path        string  `json:"path"`
	Total       uint64  `json:"total"`
	Avail       uint64  `json:"available"`    // what bartleby can still write
	UsedPercent float64 `json:"used_percent"` // of what bartleby could use, as df shows it
	Error       string  `json:"error,omitempty"`
}

// lowSpace reports whether less than lowDiskPercent of the usable space is
// left.
func (d Disk) lowSpace() bool {
	return d.Error == "" && d.Total > 0 && 100-d.UsedPercent < lowDiskPercent
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
	d.Total = st.Blocks * uint64(st.Bsize)
	d.Avail = st.Bavail * uint64(st.Bsize)
	used := (st.Blocks - st.Bfree) * uint64(st.Bsize)
	if used+d.Avail > 0 {
		d.UsedPercent = 100 * float64(used) / float64(used+d.Avail)
	}
	return d
}

func (p *queuePage) api(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(p.m.summary())
}

type notice struct{ Text, Class string }

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
		return &notice{fmt.Sprintf("A flush or retry was done less than %s ago; the next one is allowed in %d s.", flushEvery, n("s")), "warn"}
	case "hold", "release", "delete", "retry":
		class := "ok"
		if n("failed") > 0 {
			class = "warn"
		}
		return &notice{fmt.Sprintf("%s: %d done, %d not (gone from the queue meanwhile, or not possible).",
			bulkOps[q.Get("done")], n("n"), n("failed")), class}
	}
	return nil
}

// tryFlush takes the flush allowance, or says how long to wait for it.
func (p *queuePage) tryFlush() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	wait := flushEvery - time.Since(p.lastFlush)
	if wait <= 0 {
		p.lastFlush = time.Now()
	}
	return wait
}

func (p *queuePage) flush(w http.ResponseWriter, r *http.Request) {
	if wait := p.tryFlush(); wait > 0 {
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
	p.m.log.Info("queue flushed from the admin page", "user", adminui.User(r), "messages", len(out))
	http.Redirect(w, r, fmt.Sprintf("/mail/?done=flush&n=%d&delivered=%d&deferred=%d&bounced=%d&pending=%d",
		len(out), count["delivered"]+count["partial"], count["deferred"], count["bounced"], count["pending"]), http.StatusSeeOther)
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

// render writes one of the admin_*.html templates as a page.
func render(w http.ResponseWriter, r *http.Request, title, name string, data any) {
	adminui.RenderTemplate(w, r, title, adminTmpl.Lookup(name), data)
}

// domainOf is the part of an address after the last "@".
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return addr
}
