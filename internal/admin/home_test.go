package admin

import (
	"time"

	"bartleby/internal/control"
	"strings"
	"testing"

	"bartleby/internal/part"
)

func TestHomeShowsNotices(t *testing.T) {
	s := newTestServer(t, opts{notices: []part.Notice{{Part: "watch", Text: "clock CRITICAL: offset +20m0s <b>"}}})
	res := s.client("127.0.0.1").get("/")
	wantStatus(t, res, 200)
	if !strings.Contains(res.body, `<p class="warn" role="alert"><strong>watch:</strong> clock CRITICAL: offset &#43;20m0s &lt;b&gt;</p>`) {
		t.Fatalf("home page lacks the escaped notice:\n%s", res.body)
	}
	quiet := newTestServer(t, opts{})
	if res := quiet.client("127.0.0.1").get("/"); strings.Contains(res.body, `role="alert"`) {
		t.Fatal("a notice shown with none given")
	}
}

// TestHomeCards: every card says its state in words (not colour alone),
// links its page, shows its numbers escaped; a failed reload is a warning
// with its error.
func TestHomeCards(t *testing.T) {
	cards := []part.Card{
		{Title: "Mail", Link: "/mail/", Level: part.Failing, Facts: []part.Fact{{Label: "Queue", Value: "46 messages", Level: part.Warning}}, Problems: []string{"oldest <3d>"}},
		{Title: "Web", Level: part.OK, Facts: []part.Fact{{Label: "Sites in maintenance", Value: "0"}}},
	}
	s := newTestServer(t, opts{cards: cards, status: func(st *control.Status) {
		st.Attempt = &control.ReloadResult{At: testStarted.Add(30 * time.Minute), By: "SIGHUP", Unchanged: true, Errors: []string{"web.sites[0]: bad <addr>"}}
	}})
	res := s.client("127.0.0.1").get("/")
	wantStatus(t, res, 200)
	for _, want := range []string{
		`<section class="card level-failing">`, `<h2><a href="/mail/">Mail</a> <span class="state">failing</span></h2>`,
		`<dt>Queue</dt><dd class="level-warning">46 messages</dd>`, `<li>oldest &lt;3d&gt;</li>`,
		`<h2>Web <span class="state">OK</span></h2>`,
		`<section class="card level-warning">`, `<dd class="level-warning">30m0s ago by SIGHUP: refused (1 problem(s)), the running config is unchanged</dd>`, `<li>web.sites[0]: bad &lt;addr&gt;</li>`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("home lacks %q:\n%s", want, res.body)
		}
	}
	if strings.Contains(res.body, "<h2>Pages</h2>") {
		t.Error("home repeats the navigation")
	}
}
