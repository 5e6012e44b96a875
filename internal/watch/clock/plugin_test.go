package clock_test

import (
	"context"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"bartleby/internal/testutil"
	"bartleby/internal/watch/clock"
	"bartleby/internal/watch/watchtest"
)

var checkNTPOffsetRe = regexp.MustCompile(`\|\s*offset=([-+0-9.e]+)s`)

// TestOffsetSignMatchesCheckNTPTime asks monitoring-plugins' check_ntp_time
// and Check about the same fake servers: the offsets they report must
// agree in sign and size, so one graph can hold both.
func TestOffsetSignMatchesCheckNTPTime(t *testing.T) {
	t.Parallel()
	plugin := testutil.Need(t, "check_ntp_time")
	for _, shift := range []time.Duration{-3 * time.Second, 5 * time.Second} {
		srv := watchtest.NTPServer(t, shift, nil)
		host, port, _ := net.SplitHostPort(srv)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, _ := exec.CommandContext(ctx, plugin, "-H", host, "-p", port, "-w", "100", "-c", "200", "-t", "5").Output()
		cancel()
		m := checkNTPOffsetRe.FindSubmatch(out)
		if m == nil {
			t.Fatalf("server shifted %s: no offset perfdata from check_ntp_time:\n%s", shift, out)
		}
		theirs, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			t.Fatal(err)
		}
		r := clock.Check(context.Background(), []string{srv}, clock.Quick(0, 0))
		ours := r.Offset.Seconds()
		if r.Status != clock.OK || (ours > 0) != (theirs > 0) || abs(ours-theirs) > 0.5 {
			t.Errorf("server shifted %s: check_ntp_time says %+.3fs, we say %+.3fs (%s)\n%s", shift, theirs, ours, r.Status, out)
		}
		if nagios := checkNTPOffsetRe.FindStringSubmatch(r.Nagios()); nagios == nil || nagios[1][0] == '-' != (theirs < 0) {
			t.Errorf("server shifted %s: plugin line %q, check_ntp_time %+.3fs", shift, r.Nagios(), theirs)
		}
	}
}

func abs(f float64) float64 { return max(f, -f) }
