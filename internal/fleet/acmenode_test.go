package fleet_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"bartleby/internal/certs"
	"bartleby/internal/certs/testca"
	"bartleby/internal/config"
	"bartleby/internal/fleet"
	"bartleby/internal/fleet/fleettest"
	"bartleby/internal/testutil"
)

// acmeNodeEnv, set to an acmeNode in JSON, makes the test binary a fleet
// node serving one ACME name instead of running tests (see TestMain).
//
// Nodes of a fleet are separate processes, and certmagic keeps some state
// per process: the challenges this process is solving (answered from
// memory before storage is consulted) and its renewal jobs (one per name
// at a time). Managers in one test process would share those and hide
// whether the fleet's storage and locks do the work; a node of its own
// does not.
const acmeNodeEnv = "BARTLEBY_TEST_ACME_NODE"

// acmeNode is what a node process needs: its fleet section, its [acme],
// the name it serves over TLS on TLSAddr, and its state directory.
type acmeNode struct {
	Fleet    config.Fleet
	ACME     config.ACME
	Name     string
	TLSAddr  string
	StateDir string
}

// spawnNode runs node as a process of its own until the test ends, and
// returns the address it serves node.Name on and the file it logs to
// (shown if the test fails).
func spawnNode(t *testing.T, node acmeNode) (addr, logFile string) {
	t.Helper()
	node.TLSAddr = testutil.FreePort(t)
	node.StateDir = t.TempDir()
	spec, err := json.Marshal(node)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), acmeNodeEnv+"="+string(spec))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return node.TLSAddr, testca.Run(t, cmd)
}

// runNode is the life of a spawned node: it serves until killed.
func runNode(spec string) int {
	var node acmeNode
	if err := json.Unmarshal([]byte(spec), &node); err != nil {
		fmt.Fprintln(os.Stderr, acmeNodeEnv+":", err)
		return 2
	}
	if err := serveNode(node); err != nil {
		fmt.Fprintln(os.Stderr, node.Fleet.Node+":", err)
		return 1
	}
	return 0
}

func serveNode(node acmeNode) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	s, err := fleettest.Compile(&node.Fleet)
	if err != nil {
		return err
	}
	f, err := fleet.Connect(context.Background(), s, logger)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := certs.New(&config.Config{StateDir: node.StateDir, ACME: &node.ACME}, logger)
	if err != nil {
		return err
	}
	defer m.Close()
	m.ShareStorage(f.CertStorage())
	cfg, err := m.TLSConfig(certs.Source{Names: []string{node.Name}, ACME: true})
	if err != nil {
		return err
	}
	ln, err := tls.Listen("tcp", node.TLSAddr, cfg)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	return srv.Serve(ln)
}
