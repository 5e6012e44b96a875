package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWatchConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "site.feature"), []byte("Feature: x\n"), 0o600)
	file := filepath.Join(dir, "bartleby.toml")
	cfg, err := Parse(file, []byte(`state_dir = "state"
[watch]
features = "site.feature"
every = "1m"
  [watch.clock]
  servers = ["127.0.0.1:12300"]
  [watch.ntp_server]
  listen = ["127.0.0.1:12300"]
`))
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.Watch
	if w.Features != filepath.Join(dir, "site.feature") || w.History != 288 || w.Every.Duration != time.Minute ||
		w.NTPServer.Stratum != 2 || w.NTPServer.Rate != 1 || w.NTPServer.Burst != 8 || w.NTPServer.Leak != 16 || w.Clock.Warn.Duration != 100*time.Millisecond {
		t.Fatalf("defaults: %+v %+v", w, w.NTPServer)
	}

	_, err = Parse(file, []byte(`state_dir = "state"
[watch]
features = "missing.feature"
every = "5s"
jitter = "10m"
base = "ftp://x"
history = -1
  [watch.clock]
  warn = "2s"
  crit = "1s"
  every = "10s"
  [watch.ntp_server]
  listen = ["example.org:123", "127.0.0.1:99999"]
  stratum = 15
`))
	for _, want := range []string{
		"watch.every: must be at least 10s", "watch.jitter: must be shorter",
		"watch.base: must be an http(s) URL", "watch.history:", "watch.clock.servers: list at least one",
		"watch.clock.warn: warn (2s) is above crit (1s)", "watch.clock.every: must be at least 1m",
		"bartleby.toml:13: watch.ntp_server.listen[1]", "watch.ntp_server.listen[2]", "watch.ntp_server.stratum",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}
