// Package fleet measures fleet mode: the time from `maint on` (or off) on
// one node to every node's maintenance Manager applying it, on a 3-member
// etcd cluster on loopback. Run it with bench/fleet/run.
package fleet

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"bartleby/internal/config"
	"bartleby/internal/fleet"
	"bartleby/internal/fleet/fleettest"
	"bartleby/internal/web/maint"
)

func TestMain(m *testing.M) { os.Exit(fleettest.Main(m)) }

const site = "example.org"

// BenchmarkMaintSwitch switches maintenance b.N times, on and off in turn,
// each from the next of three nodes, and reports the p50, p99 and max of
// the time until all three have applied it.
func BenchmarkMaintSwitch(b *testing.B) {
	c := fleettest.Start(b, 3)
	prefix := fleettest.Prefix(b)
	nodes := make([]*maint.Manager, 3)
	for i := range nodes {
		nodes[i] = newNode(b, c.Connect(b, fmt.Sprintf("web%d", i+1), prefix))
	}
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		on := i%2 == 0
		start := time.Now()
		if err := switchSite(nodes[i%3], on); err != nil {
			b.Fatal(err)
		}
		for _, n := range nodes {
			waitApplied(n, on)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	pct := func(p int) time.Duration { return took[(len(took)-1)*p/100] }
	b.ReportMetric(float64(pct(50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
}

// newNode is one node's maintenance switch with one site, joined to f.
func newNode(b *testing.B, f *fleet.Fleet) *maint.Manager {
	b.Helper()
	dir := b.TempDir()
	cfg, err := config.Parse(filepath.Join(dir, "bartleby.toml"),
		[]byte("state_dir = \""+dir+"\"\n[[site]]\nhosts = [\""+site+"\"]\n"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := maint.NewManager(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	m.Share(f)
	b.Cleanup(m.Unshare)
	return m
}

func switchSite(m *maint.Manager, on bool) error {
	if on {
		_, err := m.On(maint.Mode{Site: site, Who: "bench"})
		return err
	}
	return m.Off(site, "bench")
}

// waitApplied returns once m serves the site in the wanted state.
func waitApplied(m *maint.Manager, on bool) {
	for {
		ch := m.Changed()
		if m.Status()[0].On == on {
			return
		}
		<-ch
	}
}
