package admin

import (
	"log/slog"
	"strings"
	"testing"

	"bartleby/internal/logring"
)

// TestLogsPage: the log view lists the kept records newest first, escaped,
// filtered by part and level; unknown filter values fall back to all.
func TestLogsPage(t *testing.T) {
	ring := logring.New(10)
	log := slog.New(ring.Handler(slog.DiscardHandler))
	log.With("part", "mail").Info("message queued", "from", "<a@example.org>")
	log.With("part", "web").Warn("upstream down", "site", "shop.test")
	log.With("part", "mail").Error("spool full")
	s := newTestServer(t, opts{logs: ring})
	c := s.client("127.0.0.1")
	all := c.get("/logs?part=nope&level=debug")
	wantStatus(t, all, 200)
	if !strings.Contains(all.body, `<a href="/logs" aria-current="page">Logs</a>`) || strings.Index(all.body, "spool full") > strings.Index(all.body, "message queued") ||
		!strings.Contains(all.body, "from=&lt;a@example.org&gt;") || !strings.Contains(all.body, "upstream down") {
		t.Fatalf("all logs:\n%s", all.body)
	}
	mailWarn := c.get("/logs?part=mail&level=warn").body
	if !strings.Contains(mailWarn, "spool full") || strings.Contains(mailWarn, "message queued") || strings.Contains(mailWarn, "upstream down") ||
		!strings.Contains(mailWarn, `<option selected>mail</option>`) {
		t.Fatalf("mail warnings:\n%s", mailWarn)
	}
	if res := newTestServer(t, opts{}).client("127.0.0.1").get("/logs"); res.StatusCode != 404 {
		t.Fatalf("/logs without a ring: %d", res.StatusCode)
	}
}
