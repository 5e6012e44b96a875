package main

import (
	"strings"
	"testing"
	"time"

	"bartleby/internal/web/maint"
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

func TestPrintMaintStatusPerNode(t *testing.T) {
	since := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	var buf strings.Builder
	printMaintStatus(&buf, []maint.SiteStatus{
		{Site: "example.org", On: true, Mode: &maint.Mode{Site: "example.org", Since: since, Who: "ops"}, Nodes: []maint.NodeState{
			{Node: "web1", Up: true, Known: true, On: true, Since: since},
			{Node: "web2", Up: false, Known: true},
			{Node: "web3", Up: true},
		}},
		{Site: "other.org", FleetError: "fleet: no quorum"},
	})
	out := buf.String()
	for _, want := range []string{
		"example.org  web1  yes      maintenance since 2026-12-01T06:00:00Z",
		"example.org  web2  no       up",
		"example.org  web3  yes      unknown (no report yet)",
		"other.org: the fleet's view is unavailable (fleet: no quorum)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
