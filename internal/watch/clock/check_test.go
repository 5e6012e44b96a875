package clock_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"bartleby/internal/watch/clock"
	"bartleby/internal/watch/watchtest"
)

func TestCheckOffsets(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		offset time.Duration
		want   clock.Status
		breaks string
	}{
		{0, clock.OK, "nothing common breaks"},
		{-500 * time.Millisecond, clock.Warning, "nothing common breaks"},
		{20 * time.Minute, clock.Critical, "S3/AWS"},
		{-6 * time.Minute, clock.Critical, "Kerberos"},
	} {
		// The offset is the servers' time minus the local clock.
		srv := watchtest.NTPServer(t, tc.offset, nil)
		r := clock.Check(context.Background(), []string{srv}, clock.Quick(100*time.Millisecond, time.Second))
		if r.Status != tc.want || r.Valid != 1 || r.Stratum != 2 {
			t.Errorf("offset %s: status %s valid %d stratum %d, want %s; %+v", tc.offset, r.Status, r.Valid, r.Stratum, tc.want, r.Answers)
		}
		if d := (r.Offset - tc.offset).Abs(); d > 50*time.Millisecond {
			t.Errorf("offset %s measured as %s", tc.offset, r.Offset)
		}
		if !strings.Contains(r.Line(), tc.breaks) {
			t.Errorf("offset %s: line %q lacks %q", tc.offset, r.Line(), tc.breaks)
		}
		checkNagios(t, r)
	}
}

func TestCheckRejectsBadAnswers(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		mutate func(*clock.Packet)
		want   string
	}{
		"kod":       {func(p *clock.Packet) { p.Stratum, p.Leap, p.RefID = 0, clock.LeapUnsync, clock.Kiss("RATE") }, `kiss-of-death "RATE"`},
		"unsync":    {func(p *clock.Packet) { p.Leap = clock.LeapUnsync }, "leap indicator 3"},
		"stratum16": {func(p *clock.Packet) { p.Stratum = 16 }, "stratum 16"},
		"distance":  {func(p *clock.Packet) { p.RootDisp = clock.Short(3 * time.Second) }, "root distance"},
		"origin":    {func(p *clock.Packet) { p.Origin++ }, "didn't match"},
		"mode":      {func(p *clock.Packet) { p.Mode = clock.ModeClient }, "invalid mode"},
	} {
		srv := watchtest.NTPServer(t, 0, tc.mutate)
		r := clock.Check(context.Background(), []string{srv}, clock.Quick(0, 0))
		if r.Status != clock.Unknown || r.Valid != 0 || len(r.Answers) != 1 || !strings.Contains(r.Answers[0].Err, tc.want) {
			t.Errorf("%s: %s %+v, want UNKNOWN with %q", name, r.Status, r.Answers, tc.want)
		}
		checkNagios(t, r)
	}
}

func TestCheckBestStratum(t *testing.T) {
	t.Parallel()
	good := watchtest.NTPServer(t, 0, func(p *clock.Packet) { p.Stratum = 1 })
	worse := watchtest.NTPServer(t, time.Hour, func(p *clock.Packet) { p.Stratum = 3 })
	kod := watchtest.NTPServer(t, 0, func(p *clock.Packet) { p.Stratum = 0; p.RefID = clock.Kiss("DENY") })
	r := clock.Check(context.Background(), []string{good, worse, kod}, clock.Options{Warn: time.Second, Crit: 2 * time.Second})
	if r.Status != clock.OK || r.Stratum != 1 || r.Valid != 2 || r.Offset.Abs() > 50*time.Millisecond {
		t.Fatalf("%+v", r)
	}
}

// checkNagios parses a plugin line strictly: "CLOCK STATE - text | perf".
func checkNagios(t *testing.T, r clock.Result) {
	t.Helper()
	line := r.Nagios()
	head, perf, hasPerf := strings.Cut(line, " | ")
	if !strings.HasPrefix(head, "CLOCK "+r.Status.String()+" - ") || strings.Contains(head, "|") || strings.Contains(line, "\n") {
		t.Errorf("bad nagios line %q", line)
	}
	if hasPerf != (r.Stratum != 0) {
		t.Errorf("perfdata presence wrong in %q", line)
	}
	if hasPerf && !strings.HasPrefix(perf, "offset=") || strings.Count(perf, ";") != 4 && hasPerf {
		t.Errorf("bad perfdata %q", perf)
	}
}
