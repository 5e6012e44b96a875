package sshd

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"bartleby/internal/fleet"
)

// blocklist shares the defender's blocks with the fleet: a block is a key
// PREFIX/ssh-blocks/ADDR on a lease of block_for, so it vanishes from etcd
// when it ends (or when the node that made it is gone for good); every node
// applies the others' blocks from a watch.
type blocklist struct {
	f      *fleet.Fleet
	d      *defender
	log    *slog.Logger
	prefix string
	stop   context.CancelFunc
	done   chan struct{}
}

// sharedBlock is the value of a block in etcd.
type sharedBlock struct {
	Node  string    `json:"node"`
	Until time.Time `json:"until"`
}

// Bounds on what is read from etcd.
const (
	maxBlockValue = 1 << 10
	maxBlocksRead = 10_000
)

func shareBlocks(f *fleet.Fleet, d *defender, log *slog.Logger) *blocklist {
	ctx, stop := context.WithCancel(context.Background())
	b := &blocklist{f: f, d: d, log: log, prefix: f.Prefix("ssh-blocks"), stop: stop, done: make(chan struct{})}
	go b.follow(ctx)
	return b
}

// close stops following the fleet.
func (b *blocklist) close() {
	b.stop()
	<-b.done
}

// publish writes a block this node made, under a lease that ends with it.
// A fleet without quorum misses it; this node still enforces it.
func (b *blocklist) publish(addr netip.Addr, until time.Time) {
	ctx, cancel := b.f.Timeout(context.Background())
	defer cancel()
	ttl := int64(math.Ceil(time.Until(until).Seconds()))
	if ttl < 1 {
		return
	}
	val, _ := json.Marshal(sharedBlock{Node: b.f.Node(), Until: until.UTC()})
	lease, err := b.f.Client().Grant(ctx, ttl)
	if err == nil {
		_, err = b.f.Client().Put(ctx, b.prefix+addr.String(), string(val), clientv3.WithLease(lease.ID))
	}
	if err != nil {
		b.log.Warn("blocked address not shared with the fleet", "addr", addr, "err", err)
	}
}

// remove lifts a block on every node (an operator's unblock).
func (b *blocklist) remove(addr netip.Addr) error {
	ctx, cancel := b.f.Timeout(context.Background())
	defer cancel()
	if _, err := b.f.Client().Delete(ctx, b.prefix+key(addr).String()); err != nil {
		return fmt.Errorf("unblocked here only, not on the fleet: %w", err)
	}
	return nil
}

// follow applies the fleet's blocks: all of them, then each change.
func (b *blocklist) follow(ctx context.Context) {
	defer close(b.done)
	for ctx.Err() == nil {
		rev, err := b.load(ctx)
		if err == nil {
			err = b.watch(ctx, rev)
		}
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("ssh: fleet blocklist unavailable; blocks of this node still apply", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (b *blocklist) load(ctx context.Context) (int64, error) {
	rctx, cancel := b.f.Timeout(ctx)
	defer cancel()
	resp, err := b.f.Client().Get(rctx, b.prefix, clientv3.WithPrefix(), clientv3.WithLimit(maxBlocksRead))
	if err != nil {
		return 0, err
	}
	for _, kv := range resp.Kvs {
		b.apply(clientv3.EventTypePut, kv.Key, kv.Value)
	}
	return resp.Header.Revision, nil
}

func (b *blocklist) watch(ctx context.Context, rev int64) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range b.f.Client().Watch(wctx, b.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithPrevKV()) {
		if err := resp.Err(); err != nil {
			return err
		}
		for _, ev := range resp.Events {
			val := ev.Kv.Value
			if ev.Type == clientv3.EventTypeDelete && ev.PrevKv != nil {
				val = ev.PrevKv.Value
			}
			b.apply(ev.Type, ev.Kv.Key, val)
		}
	}
	return fmt.Errorf("watch ended: %w", ctx.Err())
}

// apply takes one block (put) or its end (delete) made by another node.
func (b *blocklist) apply(typ mvccpb.Event_EventType, k, v []byte) {
	addr, err := netip.ParseAddr(strings.TrimPrefix(string(k), b.prefix))
	var blk sharedBlock
	if err == nil && len(v) > maxBlockValue {
		err = fmt.Errorf("%d bytes", len(v))
	}
	if err == nil {
		err = json.Unmarshal(v, &blk)
	}
	if err != nil {
		b.log.Error("ssh: bad block in etcd", "key", string(k), "err", err)
		return
	}
	from := blk.Node
	if from == b.f.Node() {
		from = "" // this node's own block, lifted from another node
	}
	switch {
	case typ == clientv3.EventTypeDelete:
		b.d.UnblockFrom(key(addr), from)
	case from != "":
		b.d.BlockFrom(key(addr), blk.Until, from)
	}
}
