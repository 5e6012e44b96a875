package e2e

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"bartleby/internal/testutil"
	"bartleby/internal/watch/clock"
	"bartleby/internal/watch/watchtest"
)

func TestBinaryClockCheck(t *testing.T) {
	t.Parallel()
	bin := testutil.Binary(t)
	ahead := watchtest.NTPServer(t, -20*time.Minute, nil) // servers behind: we are 20 min ahead
	fine := watchtest.NTPServer(t, 0, nil)
	kod := watchtest.NTPServer(t, 0, func(p *clock.Packet) { p.Stratum, p.RefID = 0, clock.Kiss("RATE") })
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"--server", fine, "--nagios"}, 0, []string{"CLOCK OK - Offset ", " | offset=", "s;-0.1:0.1;-1:1;;"}},
		{[]string{"--server", ahead, "--nagios"}, 2, []string{"CLOCK CRITICAL - Offset -1", "S3/AWS"}},
		{[]string{"--server", ahead, "--server", fine}, 2, []string{"clock CRITICAL", "2/2 servers valid"}},
		{[]string{"--server", kod, "--nagios"}, 3, []string{"CLOCK UNKNOWN - Offset unknown", `kiss-of-death "RATE"`}},
		{[]string{"--server", fine, "--warn", "2s", "--crit", "1s"}, 64, []string{}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, bin, append([]string{"clock", "check", "-c", "/nonexistent"}, tc.args...)...).Output()
		cancel()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.code, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
}
