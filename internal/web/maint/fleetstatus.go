package maint

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"bartleby/internal/fleet"
)

// NodeState is what one node of the fleet applies to a site, for
// `bartleby maint status`.
type NodeState struct {
	Node  string    `json:"node"`
	Up    bool      `json:"up"`    // its membership lease is alive
	Known bool      `json:"known"` // it has reported what it applies
	On    bool      `json:"on"`
	Since time.Time `json:"since,omitzero"`
}

// applied is what a node reports under PREFIX/maint-applied/NODE: the
// sites it has in maintenance. It is written when it changes, never at
// idle.
type applied map[string]appliedMode

type appliedMode struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until,omitzero"`
}

// maxApplied bounds one node's report read from etcd.
const maxApplied = 1 << 20

func (sh *shared) appliedKey(node string) string { return sh.f.Prefix("maint-applied") + node }

// report writes the modes this node applies if they differ from what it
// last wrote. Only follow calls it; a failed write is tried again at the
// next change or re-sync.
func (m *Manager) report(ctx context.Context, sh *shared) {
	m.mu.Lock()
	now := applied{}
	for name, md := range m.modes() {
		now[name] = appliedMode{Since: md.Since, Until: md.Until}
	}
	m.mu.Unlock()
	b, err := json.Marshal(now) // keys sorted: equal states, equal bytes
	if err != nil || string(b) == sh.reported {
		return
	}
	wctx, cancel := sh.f.Timeout(ctx)
	defer cancel()
	if _, err := sh.f.Client().Put(wctx, sh.appliedKey(sh.f.Node()), string(b)); err != nil {
		if ctx.Err() != nil {
			return // Unshare
		}
		m.log.Warn("maintenance: reporting this node's state to the fleet", "event", "web.maint_fleet_report_failed", "err", err)
		return
	}
	sh.reported = string(b)
}

// FleetStatus is Status with, in fleet mode, every node's applied state of
// each site and whether it is up. When etcd cannot be read each site says
// so in FleetError and shows this node's state only.
func (m *Manager) FleetStatus(ctx context.Context) []SiteStatus {
	st := m.Status()
	m.mu.Lock()
	sh := m.shared
	m.mu.Unlock()
	if sh == nil {
		return st
	}
	nodes, reports, err := sh.nodeReports(ctx)
	for i := range st {
		if err != nil {
			st[i].FleetError = err.Error()
			continue
		}
		for _, n := range nodes {
			ns := NodeState{Node: n.Node, Up: n.Up}
			if rep, ok := reports[n.Node]; ok {
				md, on := rep[st[i].Site]
				ns.Known, ns.Since = true, md.Since
				ns.On = on && (md.Until.IsZero() || m.now().Before(md.Until))
			}
			st[i].Nodes = append(st[i].Nodes, ns)
		}
	}
	return st
}

// nodeReports reads the fleet's members and what each reported applying.
func (sh *shared) nodeReports(ctx context.Context) ([]fleet.NodeStatus, map[string]applied, error) {
	nodes, err := sh.f.Nodes(ctx)
	if err != nil {
		return nil, nil, err
	}
	rctx, cancel := sh.f.Timeout(ctx)
	defer cancel()
	prefix := sh.appliedKey("")
	resp, err := sh.f.Client().Get(rctx, prefix, clientv3.WithPrefix(), clientv3.WithLimit(maxMembers))
	if err != nil {
		return nil, nil, fmt.Errorf("fleet: maintenance reports: %w", err)
	}
	reports := map[string]applied{}
	for _, kv := range resp.Kvs {
		var rep applied
		if len(kv.Value) > maxApplied || json.Unmarshal(kv.Value, &rep) != nil {
			continue // shown as unknown
		}
		reports[strings.TrimPrefix(string(kv.Key), prefix)] = rep
	}
	return nodes, reports, nil
}

// maxMembers bounds the reports read, as fleet bounds its member list.
const maxMembers = 1000
