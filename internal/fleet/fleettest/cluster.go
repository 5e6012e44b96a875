// Package fleettest runs a real etcd cluster (Debian's etcd-server binary)
// on loopback with mutual TLS, for the tests of fleet mode.
package fleettest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bartleby/internal/certs/testca"
	"bartleby/internal/config"
	"bartleby/internal/fleet"
	"bartleby/internal/testutil"
)

// Cluster is an etcd cluster of a few members on 127.0.0.1.
type Cluster struct {
	Dir     string
	CA      string // CA file trusted for the members' certificates
	Cert    string // client certificate and key
	Key     string
	KeyFile string // a fleet key

	bin     string
	members []*member
	initial string
}

type member struct {
	name          string
	client, peer  string // host:port
	cmd           *exec.Cmd
	exited        chan struct{}
	stderr        bytes.Buffer
	cert, certKey string
}

var (
	sharedMu sync.Mutex
	shared   *Cluster
)

// Shared returns the package's one three-member cluster, started on first
// use and stopped by Main. Tests using it must leave every member running
// and work under their own prefix (Prefix).
func Shared(t testing.TB) *Cluster {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil {
		dir, err := os.MkdirTemp("", "bartleby-etcd-")
		if err != nil {
			t.Fatal(err)
		}
		shared = start(t, dir, 3)
	}
	return shared
}

// Main runs the tests and stops the shared cluster: use it in TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		shared.stopAll()
		os.RemoveAll(shared.Dir)
	}
	return code
}

// Start runs a cluster of n members of its own, stopped at the end of t:
// for tests that kill members.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	c := start(t, t.TempDir(), n)
	t.Cleanup(c.stopAll)
	return c
}

func start(t testing.TB, dir string, n int) *Cluster {
	t.Helper()
	c := &Cluster{Dir: dir, bin: testutil.Need(t, "etcd")}
	ca := testca.New(t, "etcd test CA")
	c.CA = filepath.Join(dir, "ca.crt")
	testca.WriteFile(t, c.CA, ca.PEM)
	c.Cert, c.Key = ca.Issue(t, "127.0.0.1", "localhost").Write(t, dir, "client")
	c.KeyFile = filepath.Join(dir, "fleet.key")
	raw := make([]byte, 32)
	rand.Read(raw)
	testca.WriteFile(t, c.KeyFile, []byte(hex.EncodeToString(raw)+"\n"))
	var initial []string
	for i := range n {
		m := &member{name: fmt.Sprintf("m%d", i), client: testutil.FreePort(t), peer: testutil.FreePort(t)}
		m.cert, m.certKey = ca.Issue(t, "127.0.0.1", "localhost").Write(t, dir, m.name)
		c.members = append(c.members, m)
		initial = append(initial, m.name+"=http://"+m.peer)
	}
	c.initial = strings.Join(initial, ",")
	for i := range c.members {
		c.startMember(t, i, "new")
	}
	c.waitHealthy(t)
	return c
}

func (c *Cluster) startMember(t testing.TB, i int, state string) {
	t.Helper()
	m := c.members[i]
	cmd := exec.Command(c.bin,
		"--name", m.name,
		"--data-dir", filepath.Join(c.Dir, m.name+".etcd"),
		"--listen-client-urls", "https://"+m.client,
		"--advertise-client-urls", "https://"+m.client,
		"--listen-peer-urls", "http://"+m.peer,
		"--initial-advertise-peer-urls", "http://"+m.peer,
		"--initial-cluster", c.initial,
		"--initial-cluster-state", state,
		"--initial-cluster-token", filepath.Base(c.Dir),
		"--cert-file", m.cert, "--key-file", m.certKey,
		"--client-cert-auth", "--trusted-ca-file", c.CA,
		// Short timers: a lost member is noticed and a leader elected
		// in well under a second on loopback.
		"--heartbeat-interval", "50", "--election-timeout", "500",
		"--logger", "zap", "--log-outputs", "stderr", "--log-level", "error",
		"--quota-backend-bytes", fmt.Sprint(256<<20),
	)
	cmd.Stderr = &m.stderr
	// The member dies with the test process, whatever happens to it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("etcd %s: %v", m.name, err)
	}
	m.cmd, m.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(m.exited) }()
}

// waitHealthy waits until every running member answers a linearizable read.
func (c *Cluster) waitHealthy(t testing.TB) {
	t.Helper()
	for _, m := range c.members {
		if m.cmd == nil {
			continue
		}
		testutil.Eventually(t, 30*time.Second, "etcd "+m.name+" to answer", func() error {
			select {
			case <-m.exited:
				t.Fatalf("etcd %s exited: %s", m.name, m.stderr.String())
			default:
			}
			f, err := c.connectOnly(t, m.client)
			if err == nil {
				f.Close()
			}
			return err
		})
	}
}

func (c *Cluster) connectOnly(t testing.TB, ep string) (*fleet.Fleet, error) {
	s := c.Settings(t, "probe", "/probe/")
	s.Endpoints = []string{ep}
	s.DialTimeout = 2 * time.Second
	return fleet.Connect(context.Background(), s, slog.New(slog.DiscardHandler))
}

// Kill stops member i at once (SIGKILL), as a crash would.
func (c *Cluster) Kill(t testing.TB, i int) {
	t.Helper()
	m := c.members[i]
	m.cmd.Process.Kill()
	<-m.exited
	m.cmd = nil
}

// Restart starts a killed member again on its data.
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	c.startMember(t, i, "existing")
}

// WaitHealthy waits until every running member serves linearizable reads.
func (c *Cluster) WaitHealthy(t testing.TB) { c.waitHealthy(t) }

func (c *Cluster) stopAll() {
	for _, m := range c.members {
		if m.cmd != nil {
			m.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-m.exited:
			case <-time.After(5 * time.Second):
				m.cmd.Process.Kill()
				<-m.exited
			}
			m.cmd = nil
		}
	}
}

// Endpoints returns the members' client URLs, as written in [fleet] etcd.
func (c *Cluster) Endpoints() []string {
	var out []string
	for _, m := range c.members {
		out = append(out, "https://"+m.client)
	}
	return out
}

// Config returns a [fleet] section for node on this cluster, defaults filled.
func (c *Cluster) Config(node, prefix string) *config.Fleet {
	return &config.Fleet{Etcd: c.Endpoints(), Cert: c.Cert, Key: c.Key, CA: c.CA, KeyFile: c.KeyFile, Node: node, Prefix: prefix}
}

// Settings compiles Config(node, prefix), with a short dial timeout.
func (c *Cluster) Settings(t testing.TB, node, prefix string) *fleet.Settings {
	t.Helper()
	s, err := Compile(c.Config(node, prefix))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Compile compiles a [fleet] section of Config with a short dial timeout:
// what a node of a test fleet running in another process connects with.
func Compile(f *config.Fleet) (*fleet.Settings, error) {
	cfg := &config.Config{File: filepath.Join(filepath.Dir(f.CA), "bartleby.toml"), Fleet: f}
	ch := cfg.Checker()
	s := fleet.Compile(cfg, ch)
	if err := ch.Err(); err != nil {
		return nil, err
	}
	s.DialTimeout = 2 * time.Second
	return s, nil
}

// Connect joins node to the cluster under prefix, closed at the end of t.
func (c *Cluster) Connect(t testing.TB, node, prefix string) *fleet.Fleet {
	t.Helper()
	f, err := fleet.Connect(context.Background(), c.Settings(t, node, prefix), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// Prefix returns an etcd prefix of t's own on a shared cluster.
func Prefix(t testing.TB) string {
	b := make([]byte, 4)
	rand.Read(b)
	return "/" + strings.ReplaceAll(t.Name(), "/", "_") + "-" + hex.EncodeToString(b) + "/"
}

// Revision is etcd's store revision as f sees it: it moves with every
// write, so a test compares two readings to count writes.
func Revision(tb testing.TB, f *fleet.Fleet) int64 {
	tb.Helper()
	resp, err := f.Client().Get(context.Background(), "/nothing")
	if err != nil {
		tb.Fatal(err)
	}
	return resp.Header.Revision
}
