package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
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

// Register announces this node: its record under members/ (kept when it
// goes, so that it can be listed down) and alive/NODE under a lease kept
// alive until Close. When the lease is lost (cut off longer than the TTL)
// it registers again as soon as etcd answers.
func (f *Fleet) Register(ctx context.Context, m Member) error {
	m.Node = f.s.Node
	rec, err := json.Marshal(m)
	if err != nil {
		return err
	}
	sess, err := f.join(ctx, rec)
	if err != nil {
		return err
	}
	f.wg.Add(1)
	go f.stayRegistered(sess, rec)
	return nil
}

func (f *Fleet) join(ctx context.Context, rec []byte) (*concurrency.Session, error) {
	sess, err := concurrency.NewSession(f.cli, concurrency.WithTTL(int(MemberTTL/time.Second)))
	if err != nil {
		return nil, fmt.Errorf("fleet: membership lease: %w", noQuorum(err))
	}
	rctx, cancel := f.Timeout(ctx)
	defer cancel()
	_, err = f.cli.Txn(rctx).Then(
		clientv3.OpPut(f.Prefix("members")+f.s.Node, string(rec)),
		clientv3.OpPut(f.Prefix("alive")+f.s.Node, string(rec), clientv3.WithLease(sess.Lease())),
	).Commit()
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("fleet: register %s: %w", f.s.Node, noQuorum(err))
	}
	return sess, nil
}

func (f *Fleet) stayRegistered(sess *concurrency.Session, rec []byte) {
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
		f.log.Warn("fleet: membership lease lost; registering again when etcd answers", "node", f.s.Node)
		for {
			var err error
			if sess, err = f.join(ctx, rec); err == nil {
				f.log.Info("fleet: registered again", "node", f.s.Node)
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
