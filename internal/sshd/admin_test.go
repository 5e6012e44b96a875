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
	if c := s.Summary()[0]; c.Level != part.Warning || c.Facts[1].Value != "1" {
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
