package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Limits of a node's watch summary, checked again when it is read back:
// the node that wrote it may run another version, or be hostile.
const (
	maxWatchScenarios = 100
	maxWatchText      = 256 // bytes of a scenario name, step or error
	maxWatchBytes     = 128 << 10
)

// ScenarioState is one scenario's last confirmed outcome on one node.
type ScenarioState struct {
	Scenario string        `json:"scenario"` // "Feature / Scenario"
	OK       bool          `json:"ok"`
	Step     string        `json:"step,omitempty"` // the failing step
	Error    string        `json:"error,omitempty"`
	Ran      time.Time     `json:"ran"`
	Took     time.Duration `json:"took_ns"`
}

// sameOutcome is whether a and b differ at most in when they ran and for
// how long: the summary is written again only when an outcome changed.
func sameOutcome(a, b []ScenarioState) bool {
	return slices.EqualFunc(a, b, func(x, y ScenarioState) bool {
		return x.Scenario == y.Scenario && x.OK == y.OK && x.Step == y.Step && x.Error == y.Error
	})
}

// watchRecord is what etcd holds under watch/NODE.
type watchRecord struct {
	At        time.Time       `json:"at"` // when it was published
	Scenarios []ScenarioState `json:"scenarios"`
}

// WatchReport is one node's watch summary as published.
type WatchReport struct {
	Node      string
	At        time.Time // when the node published it: run times and durations are as of then
	Scenarios []ScenarioState
	Err       string // the summary could not be read (too big, malformed)
}

// PublishWatch puts this node's scenario outcomes in etcd, under its
// membership lease so that they go with it. It writes only when a
// scenario's outcome (pass/fail, failing step, error) or the list of
// scenarios changed since the last publication: an idle fleet writes
// nothing. Texts longer than the limits are cut, scenarios beyond the
// limit left out. Before Register, or while the lease is lost, the
// summary is kept and written when the node joins.
func (f *Fleet) PublishWatch(ctx context.Context, states []ScenarioState) error {
	states = clip(states)
	r := &f.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.watch != nil && r.wrote && sameOutcome(states, r.states) {
		return nil
	}
	val, err := json.Marshal(watchRecord{At: time.Now().UTC(), Scenarios: states})
	if err != nil {
		return err
	}
	r.watch, r.states, r.wrote = val, states, false
	if r.lease == 0 {
		return nil
	}
	err = f.commit(ctx, "watch summary", clientv3.OpPut(f.Prefix("watch")+f.s.Node, string(val), clientv3.WithLease(r.lease)))
	r.wrote = err == nil
	return err
}

func clip(states []ScenarioState) []ScenarioState {
	out := slices.Clone(states[:min(len(states), maxWatchScenarios)])
	for i := range out {
		s := &out[i]
		s.Scenario, s.Step, s.Error = cut(s.Scenario), cut(s.Step), cut(s.Error)
	}
	return out
}

// cut shortens s to maxWatchText bytes of valid UTF-8.
func cut(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxWatchText {
		return s
	}
	s = s[:maxWatchText-len("…")]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// WatchReports reads every live node's watch summary, by node name. A
// summary that breaks the limits is reported with Err, not trusted.
func (f *Fleet) WatchReports(ctx context.Context) ([]WatchReport, error) {
	rctx, cancel := f.Timeout(ctx)
	defer cancel()
	resp, err := f.cli.Get(rctx, f.Prefix("watch"), clientv3.WithPrefix(), clientv3.WithLimit(maxMembers), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, fmt.Errorf("fleet: read watch summaries: %w", noQuorum(err))
	}
	out := make([]WatchReport, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		rep := WatchReport{Node: strings.TrimPrefix(string(kv.Key), f.Prefix("watch"))}
		rec, err := parseWatch(kv.Value)
		if err != nil {
			rep.Err = err.Error()
		} else {
			rep.At, rep.Scenarios = rec.At, rec.Scenarios
		}
		out = append(out, rep)
	}
	return out, nil
}

// parseWatch reads a summary strictly: within the size limits, valid
// UTF-8, every scenario named. Fields a newer version adds are ignored.
func parseWatch(raw []byte) (*watchRecord, error) {
	if len(raw) > maxWatchBytes {
		return nil, fmt.Errorf("summary of %d bytes, over the limit of %d", len(raw), maxWatchBytes)
	}
	var rec watchRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("unreadable summary: %w", err)
	}
	if len(rec.Scenarios) > maxWatchScenarios {
		return nil, fmt.Errorf("summary of %d scenarios, over the limit of %d", len(rec.Scenarios), maxWatchScenarios)
	}
	for _, s := range rec.Scenarios {
		for _, t := range []string{s.Scenario, s.Step, s.Error} {
			if len(t) > maxWatchText || !utf8.ValidString(t) {
				return nil, errors.New("summary with a text over the limit or not UTF-8")
			}
		}
		if s.Scenario == "" {
			return nil, errors.New("summary with an unnamed scenario")
		}
	}
	return &rec, nil
}
