package mail

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"bartleby/internal/adminui"
	"bartleby/internal/mail/queue"
)

// pageSize is how many messages one page of the queue lists, so that a
// queue of ten thousand still renders at once.
const pageSize = 100

// maxFilter bounds a filter field.
const maxFilter = 256

// msgView is a queued message as the queue page shows it.
type msgView struct {
	queue.Envelope
	Open   []string // recipients still to deliver
	Domain string   // of the first open recipient: where it is going
	Reason string   // reasonOf(LastError)
}

func views(msgs []queue.Envelope) []*msgView {
	out := make([]*msgView, len(msgs))
	for i := range msgs {
		v := &msgView{Envelope: msgs[i], Reason: reasonOf(msgs[i].LastError)}
		for _, r := range msgs[i].Rcpts {
			if r.Open() {
				v.Open = append(v.Open, r.Addr)
			}
		}
		if len(v.Open) > 0 {
			v.Domain = domainOf(v.Open[0])
		}
		out[i] = v
	}
	return out
}

// State is what the page calls the message's state.
func (v *msgView) State() string {
	switch {
	case v.Held:
		return "held"
	case v.Attempts == 0:
		return "new"
	}
	return "deferred"
}

// filter is the queue page's GET query: every field optional, all must
// match.
type filter struct {
	From, To, State, Reason, Domain string
	Page                            int
}

var states = []string{"new", "deferred", "held"}

func filterFrom(q url.Values) filter {
	get := func(k string) string { return shorten(strings.TrimSpace(q.Get(k)), maxFilter) }
	f := filter{From: get("from"), To: get("to"), Reason: get("reason"), Domain: get("domain")}
	for _, s := range states {
		if q.Get("state") == s {
			f.State = s
		}
	}
	f.Page, _ = strconv.Atoi(q.Get("page"))
	f.Page = max(f.Page, 1)
	return f
}

func (f filter) matches(v *msgView) bool {
	contains := func(s, sub string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(sub)) }
	switch {
	case f.From != "" && !contains(v.From, f.From),
		f.State != "" && v.State() != f.State,
		f.Reason != "" && v.Reason != f.Reason,
		f.Domain != "" && v.Domain != f.Domain:
		return false
	case f.To != "":
		for _, r := range v.Open {
			if contains(r, f.To) {
				return true
			}
		}
		return false
	}
	return true
}

// Active reports whether the filter narrows the list.
func (f filter) Active() bool {
	return f.From != "" || f.To != "" || f.State != "" || f.Reason != "" || f.Domain != ""
}

// query is the filter as a URL query, with another page number.
func (f filter) query(page int) template.URL {
	q := url.Values{}
	for k, v := range map[string]string{"from": f.From, "to": f.To, "state": f.State, "reason": f.Reason, "domain": f.Domain} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	return template.URL(q.Encode())
}

// WithDomain and WithReason are links narrowing the filter to a group.
func (f filter) WithDomain(d string) template.URL { f.Domain = d; return f.query(1) }
func (f filter) WithReason(r string) template.URL { f.Reason = r; return f.query(1) }

type listData struct {
	S          Summary
	Now        time.Time
	Oldest     string
	DiskClass  string
	CSRF       template.HTML
	Notice     *notice
	Refresh    string
	F          filter
	States     []string
	ByDomain   []group
	ByReason   []group
	Shown      []*msgView
	Matching   int
	First      int
	Prev, Next template.URL
	Ops        []bulkOp
}

func (p *queuePage) show(w http.ResponseWriter, r *http.Request) {
	d := listPage(p.m.summary(), filterFrom(r.URL.Query()), time.Now())
	d.CSRF, d.Notice = adminui.CSRFField(r), noticeFrom(r.URL.Query())
	if !d.F.Active() && d.F.Page == 1 {
		// Refresh only the plain list: a filter being read stays still.
		w.Header().Set("Refresh", pageRefresh)
	}
	render(w, r, "Mail queue", "admin_queue.html", d)
}

// listPage is the queue page's data: the groups over the whole queue, the
// messages matching the filter, one page of them.
func listPage(s Summary, f filter, now time.Time) listData {
	d := listData{S: s, Now: now, F: f, States: states, DiskClass: "ok", Refresh: pageRefresh, Ops: bulkOpList,
		Oldest: humanAge(time.Duration(s.OldestSeconds) * time.Second)}
	if s.Disk.lowSpace() {
		d.DiskClass = "bad"
	}
	all := views(s.Messages)
	d.ByDomain = groupBy(all, func(v *msgView) string { return v.Domain })
	d.ByReason = groupBy(all, func(v *msgView) string { return v.Reason })
	var match []*msgView
	for _, v := range all {
		if f.matches(v) {
			match = append(match, v)
		}
	}
	d.Matching = len(match)
	start := min((f.Page-1)*pageSize, len(match))
	end := min(start+pageSize, len(match))
	d.Shown, d.First = match[start:end], start+1
	if f.Page > 1 {
		d.Prev = f.query(f.Page - 1)
	}
	if end < len(match) {
		d.Next = f.query(f.Page + 1)
	}
	return d
}

// Last is the number of the last message shown.
func (d listData) Last() int { return d.First + len(d.Shown) - 1 }

// Pages is "page 2 of 100".
func (d listData) Pages() string {
	return fmt.Sprintf("page %d of %d", d.F.Page, max(1, (d.Matching+pageSize-1)/pageSize))
}
