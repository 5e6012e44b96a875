// Parsers of what the reporters print, as the tools that read it parse it.

package watchtest

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// NagiosLine is a strictly parsed plugin output line.
type NagiosLine struct {
	Service, State, Text string
	Perf                 []PerfItem
}

// PerfItem is one perfdata item; Unknown is a value of U.
type PerfItem struct {
	Label                     string
	Value                     float64
	Unknown                   bool
	UOM, Warn, Crit, Min, Max string
}

var (
	nagiosRe = regexp.MustCompile(`^([A-Z]+) (OK|WARNING|CRITICAL|UNKNOWN) - ([^|\n]+?)(?: \| (.+))?\n$`)
	perfRe   = regexp.MustCompile(`^('(?:[^'=]|'')+'|[^' =]+)=(U|-?[0-9.]+)(s|%|B|KB|MB|TB|c|us|ms)?;([0-9.@~:-]*);([0-9.@~:-]*);(-?[0-9.]*);(-?[0-9.]*)$`)
	// perfItemRe splits perfdata on spaces outside quotes.
	perfItemRe = regexp.MustCompile(`'(?:[^']|'')*'=\S*|\S+`)
)

// ParseNagios parses a plugin's output as the plugin guidelines define it,
// and fails the test on anything else, or when two perfdata labels share
// their first 19 characters (what RRD-based graphers keep).
func ParseNagios(t testing.TB, out string) NagiosLine {
	t.Helper()
	m := nagiosRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("not a Nagios plugin line: %q", out)
	}
	l := NagiosLine{Service: m[1], State: m[2], Text: m[3]}
	seen := map[string]bool{}
	for _, item := range perfItemRe.FindAllString(m[4], -1) {
		p := perfRe.FindStringSubmatch(item)
		if p == nil {
			t.Fatalf("bad perfdata item %q in %q", item, out)
		}
		label := strings.ReplaceAll(strings.Trim(p[1], "'"), "''", "'")
		key := label[:min(19, len(label))]
		if seen[key] {
			t.Fatalf("first 19 chars of label %q not unique", label)
		}
		seen[key] = true
		pi := PerfItem{Label: label, UOM: p[3], Warn: p[4], Crit: p[5], Min: p[6], Max: p[7], Unknown: p[2] == "U"}
		if !pi.Unknown {
			pi.Value, _ = strconv.ParseFloat(p[2], 64)
		}
		l.Perf = append(l.Perf, pi)
	}
	return l
}

// PutvalRe matches one collectd exec-plugin PUTVAL line of watch: host,
// plugin, plugin instance, type, type instance, interval, value.
var PutvalRe = regexp.MustCompile(`^PUTVAL "([^/"\s]+)/([a-z_]+)-([A-Za-z0-9_.]+)/(response_time|duration)-([A-Za-z0-9_.]+)" interval=(\d+) N:(U|[0-9.]+)$`)
