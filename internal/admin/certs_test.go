package admin

import (
	"strings"
	"testing"
	"time"

	"bartleby/internal/certs"
)

// TestCertsPageAndCard: the page lists every certificate with its issuer
// and expiry, a failing one with its error; the home card names the
// soonest expiry and the failure.
func TestCertsPageAndCard(t *testing.T) {
	now := testStarted.Add(time.Hour)
	list := []certs.Cert{
		{Source: "ACME", Names: []string{"shop.example"}, Error: "acme: rate limited <x>"},
		{Source: "files", Names: []string{"mail.example"}, Subjects: []string{"mail.example"}, Issuer: "R11", NotAfter: now.Add(10 * 24 * time.Hour)},
		{Source: "self-signed", Subjects: []string{"localhost"}, Issuer: "bartleby", NotAfter: now.Add(300 * 24 * time.Hour)},
	}
	s := newTestServer(t, opts{certs: list})
	c := s.client("127.0.0.1")
	page := c.get("/certs")
	wantStatus(t, page, 200)
	for _, want := range []string{"failing: acme: rate limited &lt;x&gt;", "<td data-label=\"Issuer\">R11</td>", "(in 10 days), warning", "(in 300 days)</td>"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("certs page lacks %q:\n%s", want, page.body)
		}
	}
	home := c.get("/").body
	for _, want := range []string{`<a href="/certs">Certificates</a> <span class="state">failing</span>`, "mail.example in 10 days", "<li>shop.example: acme: rate limited &lt;x&gt;</li>"} {
		if !strings.Contains(home, want) {
			t.Errorf("home lacks %q:\n%s", want, home)
		}
	}
}
