package clock

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/beevik/ntp"
)

// Options tune a clock check.
type Options struct {
	Warn, Crit time.Duration
	// Samples per server, spaced by Spacing (at least 0.5 s: public servers
	// answer faster queries with a RATE kiss-of-death). Default 2.
	Samples int
	Spacing time.Duration
	Timeout time.Duration // per query, default 3s
	// MaxRootDistance rejects answers whose root distance (round trip/2 +
	// root delay/2 + root dispersion) is larger: ntp's Validate has no such
	// limit. Default 1.5 s, as ntpd's maxdist.
	MaxRootDistance time.Duration
	// Port overrides 123 for servers given without one (tests).
	Port int
}

func (o *Options) defaults() {
	if o.Samples <= 0 {
		o.Samples = 2
	}
	o.Spacing = max(o.Spacing, 500*time.Millisecond)
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	if o.MaxRootDistance <= 0 {
		o.MaxRootDistance = 1500 * time.Millisecond
	}
}

// Answer is one server's best sample, or why it has none.
type Answer struct {
	Server       string        `json:"server"`
	Offset       time.Duration `json:"offset_ns"`
	RTT          time.Duration `json:"rtt_ns"`
	Stratum      int           `json:"stratum"`
	RootDistance time.Duration `json:"root_distance_ns"`
	Err          string        `json:"error,omitempty"`
}

// Status is a Nagios plugin state, also the process exit code.
type Status int

// Nagios states.
const (
	OK Status = iota
	Warning
	Critical
	Unknown
)

func (s Status) String() string {
	return [...]string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}[s]
}

// Result is a whole check.
type Result struct {
	Time    time.Time     `json:"time"`
	Answers []Answer      `json:"answers"`
	Valid   int           `json:"valid"`
	Offset  time.Duration `json:"offset_ns"` // servers' time minus local clock (+ = local behind)
	Stratum int           `json:"stratum"`   // best stratum among valid answers
	Status  Status        `json:"status"`
	Warn    time.Duration `json:"warn_ns"`
	Crit    time.Duration `json:"crit_ns"`
}

// Check queries every server in parallel and combines the valid answers like
// check_ntp_time: only answers of the best stratum count, and the offset is
// their median.
func Check(ctx context.Context, servers []string, o Options) Result {
	o.defaults()
	r := Result{Time: time.Now(), Answers: make([]Answer, len(servers)), Warn: o.Warn, Crit: o.Crit}
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() { r.Answers[i] = queryServer(ctx, s, o) })
	}
	wg.Wait()
	r.combine()
	return r
}

func (r *Result) combine() {
	best := 0
	for _, a := range r.Answers {
		if a.Err == "" && (best == 0 || a.Stratum < best) {
			best = a.Stratum
		}
	}
	var offsets []time.Duration
	for _, a := range r.Answers {
		if a.Err == "" {
			r.Valid++
			if a.Stratum == best {
				offsets = append(offsets, a.Offset)
			}
		}
	}
	if len(offsets) == 0 {
		r.Status = Unknown
		return
	}
	slices.Sort(offsets)
	n := len(offsets)
	r.Offset = (offsets[(n-1)/2] + offsets[n/2]) / 2
	r.Stratum = best
	abs := r.Offset.Abs()
	switch {
	case r.Crit > 0 && abs >= r.Crit:
		r.Status = Critical
	case r.Warn > 0 && abs >= r.Warn:
		r.Status = Warning
	default:
		r.Status = OK
	}
}

// queryServer takes o.Samples samples and keeps the one with the shortest
// round trip, the least disturbed by queueing. A kiss-of-death stops at once.
func queryServer(ctx context.Context, server string, o Options) Answer {
	a := Answer{Server: server}
	var best *ntp.Response
	var lastErr error
	for i := range o.Samples {
		if i > 0 {
			select {
			case <-ctx.Done():
				return fail(a, ctx.Err())
			case <-time.After(o.Spacing):
			}
		}
		resp, err := ntp.QueryWithOptions(server, ntp.QueryOptions{Timeout: o.Timeout, Port: o.Port})
		if err == nil {
			err = validate(resp, o.MaxRootDistance)
		}
		if resp != nil && resp.IsKissOfDeath() {
			return fail(a, fmt.Errorf("kiss-of-death %q: the server asks us to stop querying it", resp.KissCode))
		}
		if err != nil {
			lastErr = err
			continue
		}
		if best == nil || resp.RTT < best.RTT {
			best = resp
		}
	}
	if best == nil {
		return fail(a, lastErr)
	}
	// ClockOffset is what to add to the local clock: the sign of
	// check_ntp_time and ntpq (+ = the local clock is behind), so one graph
	// can hold both.
	a.Offset, a.RTT, a.Stratum, a.RootDistance = best.ClockOffset, best.RTT, int(best.Stratum), best.RootDistance
	return a
}

func fail(a Answer, err error) Answer {
	a.Err = err.Error()
	return a
}

// validate is ntp's Validate, explained, plus a root-distance limit.
func validate(r *ntp.Response, maxDist time.Duration) error {
	if err := r.Validate(); err != nil {
		switch {
		case errors.Is(err, ntp.ErrInvalidLeapSecond):
			return errors.New("server not synchronised (leap indicator 3)")
		case errors.Is(err, ntp.ErrInvalidStratum):
			return fmt.Errorf("server not synchronised (stratum %d)", r.Stratum)
		}
		return fmt.Errorf("invalid answer: %w", err)
	}
	if r.RootDistance > maxDist {
		return fmt.Errorf("root distance %s above %s: too far from a reference clock to trust", r.RootDistance.Round(time.Millisecond), maxDist)
	}
	return nil
}
