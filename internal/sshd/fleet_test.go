package sshd

import (
	"encoding/json"
	"log/slog"
	"net/netip"
	"os"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"bartleby/internal/fleet/fleettest"
)

func TestMain(m *testing.M) { os.Exit(fleettest.Main(m)) }

// fleetNode is one node's defender joined to a fleet's blocklist.
type fleetNode struct {
	*Server
	d *defender
	b *blocklist
}

func joinBlocklist(t *testing.T, c *fleettest.Cluster, prefix, name string) *fleetNode {
	t.Helper()
	d := newDefender(2, time.Minute, time.Hour)
	log := slog.New(slog.DiscardHandler)
	b := shareBlocks(c.Connect(t, name, prefix), d, log)
	t.Cleanup(b.close)
	return &fleetNode{Server: &Server{log: log, defender: d, blocks: b}, d: d, b: b}
}

// command runs a control-socket command of n's ssh part.
func (n *fleetNode) command(t *testing.T, name, args string, out any) {
	t.Helper()
	res, err := n.Commands()[name](t.Context(), json.RawMessage(args))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b, _ := json.Marshal(res)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
}

// waitBlocked waits until addr's block state on n is want; the test's
// timeout bounds it.
func (n *fleetNode) waitBlocked(t *testing.T, addr netip.Addr, want bool) {
	t.Helper()
	for start := time.Now(); n.d.Blocked(addr) != want; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("%s blocked = %v after 30s, want %v", addr, !want, want)
		}
	}
}

// TestFleetBlocklist: a block made by A's defender reaches B and C through
// etcd, says where it came from, lasts block_for in etcd (a lease), and an
// unblock on C lifts it everywhere, A included.
func TestFleetBlocklist(t *testing.T) {
	c := fleettest.Shared(t)
	prefix := fleettest.Prefix(t)
	a := joinBlocklist(t, c, prefix, "a")
	b := joinBlocklist(t, c, prefix, "b")
	addr := netip.MustParseAddr("2001:db8::7")
	a.fail(addr, "")
	a.fail(addr, "")
	a.wg.Wait() // the block is published in the background
	b.waitBlocked(t, addr, true)
	// A node joining later loads the blocks already there.
	cc := joinBlocklist(t, c, prefix, "c")
	cc.waitBlocked(t, netip.MustParseAddr("2001:db8::8"), true) // same /64
	var list []Blocked
	cc.command(t, "ssh.blocked", "null", &list)
	if len(list) != 1 || list[0].From != "a" || list[0].Addr != "2001:db8::" || time.Until(list[0].Until) < 59*time.Minute {
		t.Fatalf("c's list = %+v, want one block from a", list)
	}
	resp, err := a.b.f.Client().Get(t.Context(), a.b.prefix+"2001:db8::")
	if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Lease == 0 {
		t.Fatalf("block in etcd: %v %v, want one key on a lease", resp, err)
	}
	ttl, err := a.b.f.Client().TimeToLive(t.Context(), clientLease(resp.Kvs[0].Lease))
	if err != nil || ttl.GrantedTTL != 3600 {
		t.Fatalf("lease: %+v %v, want block_for (3600 s)", ttl, err)
	}
	a.command(t, "ssh.blocked", "null", &list)
	if len(list) != 1 || list[0].From != "a" {
		t.Fatalf("a's own list = %+v, want from a", list)
	}
	var out map[string]bool
	cc.command(t, "ssh.unblock", `{"addr":"2001:db8::7"}`, &out)
	if !out["was_blocked"] {
		t.Fatalf("unblock on c: %v", out)
	}
	for _, n := range []*fleetNode{a, b, cc} {
		n.waitBlocked(t, addr, false)
	}
}

func clientLease(id int64) clientv3.LeaseID { return clientv3.LeaseID(id) }
