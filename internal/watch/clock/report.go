package clock

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// limit is a well-known tolerance to clock skew.
type limit struct {
	skew       time.Duration
	what       string
	behindOnly bool
}

// limits are in increasing order of tolerance.
var limits = []limit{
	{30 * time.Second, "TOTP codes (30 s steps) are refused", false},
	{5 * time.Minute, "Kerberos refuses tickets (default clockskew 5 min)", false},
	{15 * time.Minute, "S3/AWS signatures are refused (RequestTimeTooSkewed beyond 15 min)", false},
	{time.Hour, "fresh Let's Encrypt certificates (backdated 1 h) are not valid yet", true},
}

// Breaks says what a clock off by offset (NTP time minus local clock: + =
// behind) breaks, and what breaks next.
func Breaks(offset time.Duration) string {
	abs := offset.Abs()
	var broken []string
	for _, l := range limits {
		if l.behindOnly && offset < 0 {
			continue
		}
		if abs >= l.skew {
			broken = append(broken, l.what)
			continue
		}
		tls := "TLS certificates expiring within the skew look expired"
		if offset > 0 {
			tls = "TLS certificates issued within the skew look not yet valid"
		}
		if len(broken) == 0 {
			if abs < time.Second {
				return "nothing common breaks at this skew"
			}
			return fmt.Sprintf("%s; next: %s at %s", tls, l.what, l.skew)
		}
		return fmt.Sprintf("breaks: %s; %s; next: %s at %s", strings.Join(broken, "; "), tls, l.what, l.skew)
	}
	return "breaks: " + strings.Join(broken, "; ") + "; TLS validity checks fail both ways"
}

// Line is the readable one-line summary.
func (r Result) Line() string {
	if r.Stratum == 0 {
		return fmt.Sprintf("clock %s: no valid answer from %d servers (%s)", r.Status, len(r.Answers), r.errors())
	}
	dir := "behind"
	if r.Offset < 0 {
		dir = "ahead of"
	}
	return fmt.Sprintf("clock %s: %s %s NTP (stratum %d, %d/%d servers valid); %s",
		r.Status, r.Offset.Abs().Round(time.Microsecond), dir, r.Stratum, r.Valid, len(r.Answers), Breaks(r.Offset))
}

func (r Result) errors() string {
	var errs []string
	for _, a := range r.Answers {
		if a.Err != "" {
			errs = append(errs, a.Server+": "+a.Err)
		}
	}
	return strings.Join(errs, "; ")
}

// WriteText prints the summary and one line per server.
func (r Result) WriteText(w io.Writer) {
	fmt.Fprintln(w, r.Line())
	for _, a := range r.Answers {
		if a.Err != "" {
			fmt.Fprintf(w, "  %s: %s\n", a.Server, a.Err)
			continue
		}
		fmt.Fprintf(w, "  %s: offset %+.6fs, rtt %.6fs, stratum %d, root distance %.6fs\n",
			a.Server, a.Offset.Seconds(), a.RTT.Seconds(), a.Stratum, a.RootDistance.Seconds())
	}
}

// Nagios is the check_ntp_time-style plugin line.
func (r Result) Nagios() string {
	text := "Offset unknown"
	perf := ""
	if r.Stratum != 0 {
		text = fmt.Sprintf("Offset %+.6f secs, stratum %d, %d/%d servers valid", r.Offset.Seconds(), r.Stratum, r.Valid, len(r.Answers))
		perf = fmt.Sprintf(" | offset=%.6fs;%s;%s;;", r.Offset.Seconds(), nagiosRange(r.Warn), nagiosRange(r.Crit))
	} else if e := r.errors(); e != "" {
		text += " (" + e + ")"
	}
	if r.Status == Warning || r.Status == Critical {
		text += ": " + Breaks(r.Offset)
	}
	return fmt.Sprintf("CLOCK %s - %s%s", r.Status, strings.ReplaceAll(text, "|", "/"), perf)
}

// nagiosRange is a symmetric threshold: alert outside -t..t.
func nagiosRange(t time.Duration) string {
	if t <= 0 {
		return ""
	}
	s := fmt.Sprintf("%g", t.Seconds())
	return "-" + s + ":" + s
}
