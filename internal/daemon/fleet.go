package daemon

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"bartleby/internal/certs"
	"bartleby/internal/config"
	"bartleby/internal/control"
	"bartleby/internal/fleet"
	"bartleby/internal/version"
)

// joinFleet connects to etcd when the config has [fleet]; the link lasts
// as long as the daemon (a changed [fleet] needs a restart).
func (d *Daemon) joinFleet(ctx context.Context) error {
	c := d.cfg.Checker()
	s := fleet.Compile(d.cfg, c)
	if err := c.Err(); err != nil || s == nil {
		return err
	}
	f, err := fleet.Connect(ctx, s, d.log.With("part", "fleet"))
	if err != nil {
		return err
	}
	d.fleet = f
	d.metrics.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bartleby_fleet_connected",
		Help: "Whether this node reaches an etcd quorum (1) or serves its last known fleet state (0).",
	}, func() float64 {
		if f.Health().OK {
			return 1
		}
		return 0
	}))
	d.log.Info("fleet: connected to etcd", "event", "fleet.connected", "node", f.Node(), "endpoints", s.Endpoints)
	return nil
}

// register announces this node and its parts to the fleet, or updates
// its record after a reload.
func (d *Daemon) register(ctx context.Context) error {
	if d.fleet == nil {
		return nil
	}
	m := fleet.Member{Version: version.String(), Started: d.started}
	_, parts := d.snapshot()
	for _, r := range parts {
		m.Parts = append(m.Parts, r.Name())
		m.Addrs = append(m.Addrs, r.Addrs()...)
	}
	return d.fleet.Register(ctx, m)
}

// newCerts makes the certificate manager of cfg, on the fleet's storage
// when there is a fleet.
func (d *Daemon) newCerts(cfg *config.Config) (*certs.Manager, error) {
	cm, err := certs.New(cfg, d.log)
	if err != nil {
		return nil, err
	}
	if d.fleet != nil {
		cm.ShareStorage(d.fleet.CertStorage())
	}
	return cm, nil
}

// fleetStatus answers "fleet.status": this node's link and every node.
func (d *Daemon) fleetStatus(ctx context.Context, _ json.RawMessage) (any, error) {
	if d.fleet == nil {
		return nil, fmt.Errorf("no [fleet] in the config: this host runs alone")
	}
	h := d.fleet.Health()
	st := control.FleetStatus{Node: d.fleet.Node(), Connected: h.OK, Since: h.Since, Err: h.Err}
	nodes, err := d.fleet.Nodes(ctx)
	if err != nil {
		st.Err = err.Error()
		return st, nil
	}
	for _, n := range nodes {
		st.Nodes = append(st.Nodes, control.FleetNode{Node: n.Node, Up: n.Up, Version: n.Version, Skew: n.Skew, Parts: n.Parts, Addrs: n.Addrs, Started: n.Started})
	}
	return st, nil
}
