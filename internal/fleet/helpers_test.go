package fleet_test

import (
	"crypto/tls"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"bartleby/internal/config"
	"bartleby/internal/fleet"
)

var discard = slog.New(slog.DiscardHandler)

func loadPair(certFile, keyFile string) ([]tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	return []tls.Certificate{pair}, err
}

// compile parses a config file holding toml and compiles its [fleet].
func compile(t *testing.T, dir, toml string) (*fleet.Settings, error) {
	t.Helper()
	path := filepath.Join(dir, "bartleby.toml")
	if err := os.WriteFile(path, []byte("state_dir = \""+dir+"/state\"\n"+toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, fleet.Check)
	if err != nil {
		return nil, err
	}
	c := cfg.Checker()
	return fleet.Compile(cfg, c), c.Err()
}
