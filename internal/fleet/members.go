package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// MemberTTL is the membership lease: a node that stops renewing it (crash,
// cut off) is listed down this long after. The client renews at a third
// of it: these keep-alives are the only etcd traffic of an idle node.
var MemberTTL = 10 * time.Second

// Member is what a node says of itself when it joins.
type Member struct {
	Node    string    `json:"node"`
	Version string    `json:"version"`
	Parts   []string  `json:"parts"`
	Addrs   []string  `json:"addrs"`
	Started time.Time `json:"started"`
}

// NodeStatus is a member as seen from here.
type NodeStatus struct {
	Member
	Up   bool // its lease is alive
	Skew bool // it runs another version than this node
}

// maxMembers bounds what a listing reads.
const maxMembers = 1000

// registration is what this node keeps in etcd under its membership
// lease. Writes go through mu, so that a rejoin after a lost lease and an
// update never interleave: the last record and watch summary given are
// the ones etcd ends up with.
type registration struct {
	mu     sync.Mutex
	joined bool             // Register was called: stayRegistered runs
	lease  clientv3.LeaseID // 0 while the lease is lost
	rec    []byte           // the member record
	recIn  bool             // rec is in etcd (a failed update is tried again)
	watch  []byte           // the watch summary, nil before the first
	states []ScenarioState  // what watch holds, for change detection
	wrote  bool             // watch is in etcd (a failed write is tried again)
}

// Register announces this node: its record under members/ (kept when it
// goes, so that it can be listed down) and alive/NODE under a lease kept
// alive until Close. When the lease is lost (cut off longer than the TTL)
// it registers again as soon as etcd answers. Called again (after a
// reload), it rewrites the record under the same lease when it changed,
// and writes nothing otherwise.
func (f *Fleet) Register(ctx context.Context, m Member) error {
	m.Node = f.s.Node
	rec, err := json.Marshal(m)
	if err != nil {
		return err
	}
	r := &f.reg
	r.mu.Lock()
	if r.joined {
		defer r.mu.Unlock()
		if r.recIn && bytes.Equal(rec, r.rec) {
			return nil
		}
		r.rec, r.recIn = rec, false
		if r.lease == 0 {
			return nil // the rejoin writes it
		}
		err := f.commit(ctx, "member record", clientv3.OpPut(f.Prefix("members")+f.s.Node, string(rec)),
			clientv3.OpPut(f.Prefix("alive")+f.s.Node, string(rec), clientv3.WithLease(r.lease)))
		r.recIn = err == nil
		return err
	}
	r.rec = rec
	r.mu.Unlock()
	sess, err := f.join(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.joined = true
	r.mu.Unlock()
	f.wg.Add(1)
	go f.stayRegistered(sess)
	return nil
}

// commit writes ops in one transaction.
func (f *Fleet) commit(ctx context.Context, what string, ops ...clientv3.Op) error {
	rctx, cancel := f.Timeout(ctx)
	defer cancel()
	if _, err := f.cli.Txn(rctx).Then(ops...).Commit(); err != nil {
		return fmt.Errorf("fleet: %s of %s: %w", what, f.s.Node, noQuorum(err))
	}
	return nil
}

// join takes a new lease and writes the record, alive/NODE and the watch
// summary under it.
func (f *Fleet) join(ctx context.Context) (*concurrency.Session, error) {
	sess, err := concurrency.NewSession(f.cli, concurrency.WithTTL(int(MemberTTL/time.Second)))
	if err != nil {
		return nil, fmt.Errorf("fleet: membership lease: %w", noQuorum(err))
	}
	f.reg.mu.Lock()
	defer f.reg.mu.Unlock()
	ops := []clientv3.Op{
		clientv3.OpPut(f.Prefix("members")+f.s.Node, string(f.reg.rec)),
		clientv3.OpPut(f.Prefix("alive")+f.s.Node, string(f.reg.rec), clientv3.WithLease(sess.Lease())),
	}
	if f.reg.watch != nil {
		ops = append(ops, clientv3.OpPut(f.Prefix("watch")+f.s.Node, string(f.reg.watch), clientv3.WithLease(sess.Lease())))
	}
	if err := f.commit(ctx, "registration", ops...); err != nil {
		sess.Close()
		return nil, err
	}
	f.reg.lease, f.reg.recIn, f.reg.wrote = sess.Lease(), true, true
	return sess, nil
}

func (f *Fleet) stayRegistered(sess *concurrency.Session) {
	defer f.wg.Done()
	ctx := f.ctx
	for {
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.Background(), f.s.DialTimeout)
			f.cli.Revoke(rctx, sess.Lease())
			cancel()
			return
		case <-sess.Done():
		}
		f.reg.mu.Lock()
		f.reg.lease = 0
		f.reg.mu.Unlock()
		f.log.Warn("fleet: membership lease lost; registering again when etcd answers", "event", "fleet.lease_lost", "node", f.s.Node)
		for {
			var err error
			if sess, err = f.join(ctx); err == nil {
				f.log.Info("fleet: registered again", "event", "fleet.registered", "node", f.s.Node)
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// Nodes lists every node that ever registered, up or down, by name.
func (f *Fleet) Nodes(ctx context.Context) ([]NodeStatus, error) {
	rctx, cancel := f.Timeout(ctx)
	defer cancel()
	resp, err := f.cli.Txn(rctx).Then(
		clientv3.OpGet(f.Prefix("members"), clientv3.WithPrefix(), clientv3.WithLimit(maxMembers)),
		clientv3.OpGet(f.Prefix("alive"), clientv3.WithPrefix(), clientv3.WithKeysOnly(), clientv3.WithLimit(maxMembers)),
	).Commit()
	if err != nil {
		return nil, fmt.Errorf("fleet: list nodes: %w", noQuorum(err))
	}
	alive := map[string]bool{}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		alive[strings.TrimPrefix(string(kv.Key), f.Prefix("alive"))] = true
	}
	var self string
	var out []NodeStatus
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		var m Member
		if err := json.Unmarshal(kv.Value, &m); err != nil {
			return nil, fmt.Errorf("fleet: member %s: %w", kv.Key, err)
		}
		if m.Node == f.s.Node {
			self = m.Version
		}
		out = append(out, NodeStatus{Member: m, Up: alive[m.Node]})
	}
	for i := range out {
		out[i].Skew = self != "" && out[i].Version != self
	}
	slices.SortFunc(out, func(a, b NodeStatus) int { return strings.Compare(a.Node, b.Node) })
	return out, nil
}

// Forget removes a node that is gone for good from the listing.
func (f *Fleet) Forget(ctx context.Context, node string) error {
	rctx, cancel := f.Timeout(ctx)
	defer cancel()
	_, err := f.cli.Delete(rctx, f.Prefix("members")+node)
	return noQuorum(err)
}
