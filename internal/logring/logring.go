// Package logring keeps the last log records of each part in memory, for
// the admin UI's log view: a slog.Handler in front of the daemon's own,
// so that nothing is parsed back from a log file.
package logring

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxAttrs bounds the attribute text kept per record.
const maxAttrs = 2048

// Entry is one kept record.
type Entry struct {
	Time  time.Time
	Level slog.Level
	Part  string // "" for the daemon itself
	Msg   string
	Attrs string // key=value, space separated
}

// Ring holds the last n records per part.
type Ring struct {
	mu    sync.Mutex
	n     int
	parts map[string][]Entry
}

// New keeps n records per part.
func New(n int) *Ring { return &Ring{n: n, parts: map[string][]Entry{}} }

// Handler passes records to next and keeps those at Info and above.
func (r *Ring) Handler(next slog.Handler) slog.Handler { return &handler{ring: r, next: next} }

func (r *Ring) add(e Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := append(r.parts[e.Part], e)
	if len(list) > r.n {
		list = slices.Delete(list, 0, len(list)-r.n)
	}
	r.parts[e.Part] = list
}

// Entries are the kept records at min or above of part ("" for every
// part), newest first.
func (r *Ring) Entries(part string, min slog.Level) []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Entry
	for p, list := range r.parts {
		if part != "" && p != part {
			continue
		}
		for _, e := range list {
			if e.Level >= min {
				out = append(out, e)
			}
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return b.Time.Compare(a.Time) })
	return out
}

// Parts are the parts with kept records, sorted.
func (r *Ring) Parts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for p := range r.parts {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

type handler struct {
	ring   *Ring
	next   slog.Handler
	part   string
	attrs  string // from WithAttrs
	prefix string // from WithGroup
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level >= slog.LevelInfo {
		var b strings.Builder
		b.WriteString(h.attrs)
		rec.Attrs(func(a slog.Attr) bool {
			writeAttr(&b, h.prefix, a)
			return b.Len() < maxAttrs
		})
		h.ring.add(Entry{Time: rec.Time, Level: rec.Level, Part: h.part, Msg: rec.Message, Attrs: cut(b.String())})
	}
	if h.next.Enabled(ctx, rec.Level) {
		return h.next.Handle(ctx, rec)
	}
	return nil
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(attrs)
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range attrs {
		if a.Key == "part" && h.prefix == "" {
			c.part = a.Value.String()
			continue
		}
		writeAttr(&b, h.prefix, a)
	}
	c.attrs = cut(b.String())
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	c.prefix = h.prefix + name + "."
	return &c
}

func writeAttr(b *strings.Builder, prefix string, a slog.Attr) {
	if a.Equal(slog.Attr{}) {
		return
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	fmt.Fprintf(b, "%s%s=%v", prefix, a.Key, a.Value.Resolve())
}

func cut(s string) string {
	if len(s) > maxAttrs {
		return strings.ToValidUTF8(s[:maxAttrs], "") + "…"
	}
	return s
}
