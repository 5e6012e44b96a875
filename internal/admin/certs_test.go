package admin

import (
	"strings"
	"testing"
	"time"

	"bartleby/internal/certs"
	"bartleby/internal/part"
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

// TestCertsACMEFailure: a failed ACME renewal shows on the page with its
// time and error, and on the home card as a problem that makes it a
// warning while the old certificate is still good.
func TestCertsACMEFailure(t *testing.T) {
	now := testStarted.Add(time.Hour)
	failedAt := now.Add(-10 * time.Minute)
	list := []certs.Cert{{Source: "ACME", Names: []string{"shop.example"}, Subjects: []string{"shop.example"}, Issuer: "R11",
		NotAfter:     now.Add(60 * 24 * time.Hour),
		ACMEFailures: []certs.ACMEFailure{{Name: "shop.example", At: failedAt, Renewal: true, Error: "acme: urn:ietf:params:acme:error:connection <refused>"}}}}
	if c := certsCard(list, now); c.Level != part.Warning || len(c.Problems) != 1 ||
		c.Problems[0] != "shop.example: renewal failed 10m0s ago: acme: urn:ietf:params:acme:error:connection <refused>" {
		t.Fatalf("card %+v", c)
	}
	s := newTestServer(t, opts{certs: list})
	page := s.client("127.0.0.1").get("/certs")
	wantStatus(t, page, 200)
	want := "shop.example: renewal failed at " + failedAt.Format("2006-01-02 15:04:05 MST") + ": acme: urn:ietf:params:acme:error:connection &lt;refused&gt;"
	if !strings.Contains(page.body, want) {
		t.Errorf("certs page lacks %q:\n%s", want, page.body)
	}
}
