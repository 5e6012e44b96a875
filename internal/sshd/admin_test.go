package sshd

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"bartleby/internal/part"
)

// TestAdminPageUnblock: a blocked address is listed with an Unblock
// button, the POST unblocks it, the card counts it.
func TestAdminPageUnblock(t *testing.T) {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil)), defender: newDefender(3, time.Minute, 10*time.Minute), conns: map[net.Conn]struct{}{}}
	bad := netip.MustParseAddr("192.0.2.7")
	for range 3 {
		s.defender.Fail(bad)
	}
	if c := s.Summary()[0]; c.Level != part.Warning || fact(c, "Blocked addresses") != "1" {
		t.Fatalf("card: %+v", c)
	}
	h := s.AdminPages()[0].Handler
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/ssh", nil))
	if body := rec.Body.String(); !strings.Contains(body, "<code>192.0.2.7</code>") || !strings.Contains(body, `name="addr" value="192.0.2.7"`) {
		t.Fatalf("page:\n%s", body)
	}
	req := httptest.NewRequest("POST", "/ssh", strings.NewReader(url.Values{"addr": {"192.0.2.7"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || s.defender.Blocked(bad) {
		t.Fatalf("unblock: %d, still blocked %v", rec.Code, s.defender.Blocked(bad))
	}
	req = httptest.NewRequest("POST", "/ssh", strings.NewReader("addr=not-an-ip"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("bad address: %d", rec.Code)
	}
}

// fact is the value of the card's fact with this label, or "" when the
// card has none.
func fact(c part.Card, label string) string {
	for _, f := range c.Facts {
		if f.Label == label {
			return f.Value
		}
	}
	return ""
}

// TestSummaryFailedLogins: the card counts failed logins where they are
// logged; a client's "none" probe and a success are not failures.
func TestSummaryFailedLogins(t *testing.T) {
	met, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil)), defender: newDefender(100, time.Minute, time.Minute),
		conns: map[net.Conn]struct{}{}, failedConns: map[string]bool{}, metrics: met}
	c := meta{user: "mallory", addr: &net.TCPAddr{IP: net.ParseIP("192.0.2.9"), Port: 40000}}
	s.authLog(c, "none", errAuth)
	s.authLog(c, "password", errAuth)
	s.authLog(c, "publickey", errAuth)
	s.authLog(c, "password", nil)
	if got := fact(s.Summary()[0], "Failed logins, last hour"); got != "2" {
		t.Fatalf("failed logins: %q, want 2", got)
	}
}
