// Package fleet measures fleet mode on the wire: three `bartleby serve`
// daemons (web1..web3) joined to a 3-member etcd cluster on loopback. Run
// it with bench/fleet/run.
package fleet

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"bartleby/internal/fleet"
	"bartleby/internal/fleet/fleettest"
)

// BenchmarkMaintSwitch types `bartleby maint on shop.test` (then `off`,
// in turn) on the next of the three nodes and times until the last node
// answers 503 (then 200) over HTTP: the command, the etcd write, the
// watches and the nodes' switches. It reports p50, p99 and max, the p50
// of the command alone (until it returns: a process start and a control
// socket call), and the etcd writes at idle per minute over one
// membership lease period before the switches.
func BenchmarkMaintSwitch(b *testing.B) {
	c := fleettest.Start(b, 3)
	prefix := fleettest.Prefix(b)
	nodes := fleettest.NewNodes(b, 3)
	c.StartNodes(b, prefix, fleettest.Shop, nodes...)
	for _, n := range nodes {
		waitStatus(b, n, 200)
	}
	idle := idleWritesPerMinute(b, c.Connect(b, "bench", prefix), len(nodes))

	var took, cli []time.Duration
	i := 0
	for b.Loop() {
		cmd, want := "on", 503
		if i%2 == 1 {
			cmd, want = "off", 200
		}
		start := time.Now()
		if out, err := nodes[i%3].Run("maint", cmd, fleettest.ShopHost); err != nil {
			b.Fatalf("maint %s: %v\n%s", cmd, err, out)
		}
		cli = append(cli, time.Since(start))
		for _, n := range nodes {
			waitStatus(b, n, want)
		}
		took = append(took, time.Since(start))
		i++
	}
	// b.Loop reset the metrics reported before it.
	b.ReportMetric(idle, "idle-writes/min")
	b.ReportMetric(ms(percentile(cli, 50)), "cli-p50-ms")
	b.ReportMetric(ms(percentile(took, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(took, 99)), "p99-ms")
	b.ReportMetric(ms(percentile(took, 100)), "max-ms")
}

func percentile(d []time.Duration, p int) time.Duration {
	d = slices.Sorted(slices.Values(d))
	return d[(len(d)-1)*p/100]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// idleWritesPerMinute watches etcd's revision (which every write moves)
// for one membership lease period while the three nodes idle, from when
// each has reported the maintenance state it applies (its last start-up
// write).
func idleWritesPerMinute(b *testing.B, f *fleet.Fleet, nodes int) float64 {
	b.Helper()
	for deadline := time.Now().Add(30 * time.Second); reports(b, f) < nodes; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d nodes reported their maintenance state", reports(b, f), nodes)
		}
	}
	before := fleettest.Revision(b, f)
	time.Sleep(fleet.MemberTTL)
	return float64(fleettest.Revision(b, f)-before) * float64(time.Minute) / float64(fleet.MemberTTL)
}

// reports counts the nodes' reports under maint-applied/.
func reports(b *testing.B, f *fleet.Fleet) int {
	b.Helper()
	resp, err := f.Client().Get(context.Background(), f.Prefix("maint-applied"), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		b.Fatal(err)
	}
	return int(resp.Count)
}

// waitStatus polls n every millisecond (for 30 s at most) until
// shop.test answers want.
func waitStatus(b *testing.B, n *fleettest.Node, want int) {
	b.Helper()
	var got string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		code, _, err := n.Get(fleettest.ShopHost, "/")
		if err == nil && code == want {
			return
		}
		got = fmt.Sprintf("%d %v", code, err)
	}
	b.Fatalf("%s still answers %s, want %d", n.Name, got, want)
}
