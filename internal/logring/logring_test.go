package logring

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestRingKeepsLastPerPartAndPassesOn(t *testing.T) {
	var out bytes.Buffer
	r := New(3)
	log := slog.New(r.Handler(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn})))
	mail := log.With("part", "mail")
	for i := range 5 {
		mail.Info("queued", "n", i)
	}
	mail.WithGroup("tls").Warn("handshake failed", "peer", "192.0.2.1")
	log.Debug("not kept")
	log.Info("bartleby started")
	got := r.Entries("mail", slog.LevelInfo)
	if len(got) != 3 || got[0].Msg != "handshake failed" || got[0].Attrs != "tls.peer=192.0.2.1" || got[2].Attrs != "n=3" {
		t.Fatalf("mail entries: %+v", got)
	}
	if w := r.Entries("", slog.LevelWarn); len(w) != 1 || w[0].Part != "mail" {
		t.Fatalf("warnings: %+v", w)
	}
	if p := r.Parts(); strings.Join(p, ",") != ",mail" {
		t.Fatalf("parts %q", p)
	}
	if s := out.String(); strings.Count(s, "\n") != 1 || !strings.Contains(s, "part=mail tls.peer=192.0.2.1") {
		t.Fatalf("the next handler got:\n%s", s)
	}
}
