package main

import (
	"strings"
	"testing"
	"time"
)

func TestMaintEnd(t *testing.T) {
	now := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		forD, until string
		want        time.Time
		err         string
	}{
		{"", "", time.Time{}, ""},
		{"2h", "", now.Add(2 * time.Hour), ""},
		{"1d", "", now.Add(24 * time.Hour), ""},
		{"", "2026-12-01T06:00Z", time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC), ""},
		{"", "2026-12-01T07:00:00+01:00", time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC), ""},
		{"2h", "2026-12-01T06:00Z", time.Time{}, "not both"},
		{"0s", "", time.Time{}, "--for"},
		{"soon", "", time.Time{}, "--for"},
		{"", "2026-12-01 06:00", time.Time{}, "with its zone"},
		{"", "2026-11-30T21:00Z", time.Time{}, "in the past"},
	} {
		got, err := maintEnd(c.forD, c.until, now)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("--for %q --until %q: err %v, want %q", c.forD, c.until, err, c.err)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) {
			t.Errorf("--for %q --until %q: %v %v, want %v", c.forD, c.until, got, err, c.want)
		}
	}
}
