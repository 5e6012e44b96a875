package maint

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

//go:embed page.html
var builtinPageText []byte

// builtinPage is the page used when a site has no page of its own.
var builtinPage = func() *template.Template {
	t, err := ParsePage("built-in maintenance page", builtinPageText)
	if err != nil {
		panic(err)
	}
	return t
}()

// response is a prerendered answer: the page, the JSON body and their
// header values are built once per switch, not per request. With a known
// end, Retry-After counts down: its header value and the JSON body are
// remade when the number of seconds changes (at most once a second), not
// per request.
type response struct {
	status   int
	html     []byte
	htmlLen  []string
	until    time.Time
	jsonVals jsonBody                  // to remake the JSON body as retry_after counts down
	fixed    *countdown                // Retry-After and JSON when until is zero
	last     atomic.Pointer[countdown] // the latest when until is set
}

// countdown is what depends on the seconds left: the Retry-After value
// (nil for none) and the JSON body.
type countdown struct {
	secs    int
	retry   []string
	json    []byte
	jsonLen []string
}

// jsonBody is the small body sent to clients that ask for JSON.
type jsonBody struct {
	Status     int       `json:"status"`
	Error      string    `json:"error"`
	Site       string    `json:"site"`
	Message    string    `json:"message,omitempty"`
	Until      time.Time `json:"until,omitzero"`
	RetryAfter int       `json:"retry_after,omitempty"`
}

// render builds a site's 503 for a mode (nil: the when_backend_down page).
func (sc *siteConfig) render(md *Mode, now time.Time) *response {
	v := PageData{Status: http.StatusServiceUnavailable, Title: "Down for maintenance",
		Site: sc.name, Message: sc.message, RetryAfter: int(sc.retryAfter / time.Second)}
	if md != nil {
		if md.Message != "" {
			v.Message = md.Message
		}
		v.Until = md.Until
		if !md.Until.IsZero() {
			v.RetryAfter = retrySeconds(md.Until, now)
			v.BackAround = backAround(md.Until, now)
		}
	}
	return build(sc.page, v)
}

// build executes page with v. A custom page that fails at request time
// (it passed the check, so this is rare) falls back to the built-in one.
func build(page *template.Template, v PageData) *response {
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		buf.Reset()
		builtinPage.Execute(&buf, v)
	}
	r := &response{status: v.Status, html: buf.Bytes(), htmlLen: []string{strconv.Itoa(buf.Len())}, until: v.Until,
		jsonVals: jsonBody{Status: v.Status, Error: http.StatusText(v.Status), Site: v.Site,
			Message: v.Message, Until: v.Until, RetryAfter: v.RetryAfter}}
	if v.Until.IsZero() {
		r.fixed = r.makeCountdown(v.RetryAfter)
	} else {
		r.last.Store(r.makeCountdown(v.RetryAfter))
	}
	return r
}

// countdown returns the Retry-After and JSON body for now.
func (resp *response) countdown(now time.Time) *countdown {
	if resp.fixed != nil {
		return resp.fixed
	}
	s := retrySeconds(resp.until, now)
	if c := resp.last.Load(); c.secs == s {
		return c
	}
	c := resp.makeCountdown(s)
	resp.last.Store(c)
	return c
}

// makeCountdown builds the values for secs seconds left (0: no
// Retry-After).
func (resp *response) makeCountdown(secs int) *countdown {
	jv := resp.jsonVals
	jv.RetryAfter = secs
	j := jv.encode()
	c := &countdown{secs: secs, json: j, jsonLen: []string{strconv.Itoa(len(j))}}
	if secs > 0 {
		c.retry = []string{strconv.Itoa(secs)}
	}
	return c
}

func (j jsonBody) encode() []byte {
	b, _ := json.Marshal(j)
	return append(b, '\n')
}

// retrySeconds is the Retry-After for an end: whole seconds, at least 1.
func retrySeconds(until, now time.Time) int {
	d := until.Sub(now)
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// backAround says when the site is expected back, as a visitor reads it:
// the UTC time, with the day when it is not today.
func backAround(until, now time.Time) string {
	u, n := until.UTC(), now.UTC()
	if u.YearDay() == n.YearDay() && u.Year() == n.Year() {
		return u.Format("15:04 UTC")
	}
	if tomorrow := n.AddDate(0, 0, 1); u.YearDay() == tomorrow.YearDay() && u.Year() == tomorrow.Year() {
		return u.Format("15:04 UTC tomorrow")
	}
	if u.Sub(n) < 6*24*time.Hour {
		return u.Format("15:04 UTC on Monday")
	}
	return u.Format("15:04 UTC on Mon 2 January")
}

// Header values shared by every response, allocated once.
var (
	hdrHTML    = []string{"text/html; charset=utf-8"}
	hdrJSON    = []string{"application/json"}
	hdrNoStore = []string{"no-store"}
	hdrNoSniff = []string{"nosniff"}
	hdrVary    = []string{"Accept"}
	// hdrCSP forbids the page any request of its own: whatever page is
	// configured, the browser fetches nothing but the document. Inline
	// styles and scripts (as `page inline` makes them) may run, but
	// connect-src falls back to 'none', so a script cannot fetch either.
	hdrCSP = []string{"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; font-src data:; media-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"}
)

// serve writes the response; HEAD gets the headers only.
func (resp *response) serve(w http.ResponseWriter, r *http.Request, now time.Time) {
	h := w.Header()
	c := resp.countdown(now)
	body := resp.html
	if wantsJSON(r) {
		body = c.json
		h["Content-Type"] = hdrJSON
		h["Content-Length"] = c.jsonLen
	} else {
		h["Content-Type"] = hdrHTML
		h["Content-Security-Policy"] = hdrCSP
		h["Content-Length"] = resp.htmlLen
	}
	h["Cache-Control"] = hdrNoStore
	h["X-Content-Type-Options"] = hdrNoSniff
	h["Vary"] = hdrVary
	if c.retry != nil {
		h["Retry-After"] = c.retry
	}
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// ErrorPage writes a self-contained error page (502, 504, …) in the look of
// the maintenance page, for the web front when a backend fails. site is the
// site's name; message may be empty for the default wording.
func ErrorPage(w http.ResponseWriter, r *http.Request, status int, site, message string) {
	title := http.StatusText(status)
	switch status {
	case http.StatusBadGateway:
		title = "The site is not answering"
	case http.StatusGatewayTimeout:
		title = "The site took too long to answer"
	}
	build(builtinPage, PageData{Status: status, Title: title, Site: site, Message: message}).serve(w, r, time.Now())
}
