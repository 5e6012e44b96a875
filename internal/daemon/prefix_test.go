package daemon

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPartErrorsPrefixedOnce: a part that cannot bind its address fails
// with its name once ("mail: listen …", not "mail: mail: listen …").
func TestPartErrorsPrefixedOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "b.toml")
	conf := "state_dir = \"" + dir + "/s\"\n[mail]\nsubmit = [\"" + ln.Addr().String() + "\"]\n[mail.smarthost]\nhost = \"smtp.example.net:587\"\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{path: path, log: slog.New(slog.DiscardHandler), cfg: cfg, metrics: newMetrics()}
	err = d.start()
	if err == nil {
		d.stop()
		t.Fatal("mail started on a taken address")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "mail: listen ") || strings.Count(msg, "mail:") != 1 {
		t.Errorf("error %q, want one \"mail:\" prefix", msg)
	}
}
