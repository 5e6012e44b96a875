package daemon

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"bartleby/internal/config"
	"bartleby/internal/part"
)

// dyingPart loses its listener as soon as it starts.
type dyingPart struct{ env *part.Env }

func (p *dyingPart) Name() string                   { return "dying" }
func (p *dyingPart) Addrs() []string                { return nil }
func (p *dyingPart) Shutdown(context.Context) error { return nil }
func (p *dyingPart) Start() error {
	p.env.Fail(errors.New("listener 127.0.0.1:25 stopped: accept: invalid argument"))
	return nil
}

// TestFailingPartIsShown: a part whose listener dies is "failing" in the
// status, with the reason, and in bartleby_part_failing.
func TestFailingPartIsShown(t *testing.T) {
	d := &Daemon{log: slog.New(slog.DiscardHandler), metrics: newMetrics(), cfg: &config.Config{}}
	r, err := d.build("dying", func(env *part.Env) (part.Part, error) { return &dyingPart{env}, nil }, d.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.setState(d.cfg, nil, []*running{r})
	st := d.Status().Parts[0]
	if st.State != "failing" || st.Error != "listener 127.0.0.1:25 stopped: accept: invalid argument" {
		t.Fatalf("status %+v", st)
	}
	if v := gauge(t, d, "bartleby_part_failing", "dying"); v != 1 {
		t.Fatalf("bartleby_part_failing = %v", v)
	}
}

// gauge reads one part's value of a daemon gauge.
func gauge(t *testing.T, d *Daemon, name, partName string) float64 {
	t.Helper()
	fams, err := d.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == partName {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no %s{part=%q}", name, partName)
	return 0
}
