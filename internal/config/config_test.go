package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parse writes text to a temporary config file and loads it; {{dir}} is the
// temporary directory.
func parse(t *testing.T, text string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	text = strings.ReplaceAll(text, "{{dir}}", dir)
	path := filepath.Join(dir, "b.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path)
}

func TestDefaultsAndWarnings(t *testing.T) {
	cfg, err := parse(t, "state_dir = \"s\"\n[admin]\n[[site]]\nhosts = [\"a.test\"]\nhttps = \"off\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(cfg.StateDir) || filepath.Dir(cfg.StateDir) != filepath.Dir(cfg.File) {
		t.Errorf("state_dir %q not resolved against the config's directory", cfg.StateDir)
	}
	if cfg.Admin.Listen != "127.0.0.1:8025" || len(cfg.Admin.Allow) != 2 {
		t.Errorf("admin defaults: %+v", cfg.Admin)
	}
	if cfg.Web.HTTP != ":80" || cfg.Web.HTTPS != ":443" {
		t.Errorf("web defaults: %+v", cfg.Web)
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].String(), ":5: site[1].https: site [a.test] is served over plain HTTP only") {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
}

func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pass")
	if err := os.WriteFile(path, []byte("hunter2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := (&Config{File: "f", lines: map[string]int{"x.password_file": 7}}).Checker()
	if got := c.Secret("", "x.password_file", path); got != "hunter2" {
		t.Errorf("secret = %q", got)
	}
	if len(c.warns) != 1 || !strings.Contains(c.warns[0].String(), "f:7: x.password_file: ") || !strings.Contains(c.warns[0].String(), "chmod 600") {
		t.Errorf("want a world-readable warning, got %v", c.warns)
	}
	if strings.Contains(c.warns.Error(), "hunter2") {
		t.Error("the secret leaked into a message")
	}
	c.secretPair("x.password", "inline", "x.password_file", path)
	if len(c.errs) != 1 || !strings.Contains(c.errs[0].Msg, "give either password or password_file, not both") {
		t.Errorf("errs = %v", c.errs)
	}
}

func TestParseDurationAndSize(t *testing.T) {
	for in, want := range map[string]int64{"5d": 5 * 24 * 3600e9, "30m": 30 * 60e9, "90s": 90e9} {
		d, err := ParseDuration(in)
		if err != nil || int64(d) != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, d, err)
		}
	}
	for _, bad := range []string{"", "5", "-1s", "d", "1.5d", "99999999d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
	for in, want := range map[string]int64{"25MB": 25e6, "512KiB": 512 << 10, "1024": 1024, "2 GiB": 2 << 30} {
		n, err := ParseSize(in)
		if err != nil || n != want {
			t.Errorf("ParseSize(%q) = %v, %v", in, n, err)
		}
	}
	for _, bad := range []string{"", "MB", "-1MB", "1.5MB", "1TB", "99999999999GB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

func TestKeyLines(t *testing.T) {
	doc := `a = 1
[[site]]
hosts = ["x"]
  [[site.route]]
  path = "/"
  [[site.route]]
  proxy = "http://b"
[[site]]
  [site.maintenance]
  page = "p"
  [[site.route]]
  root = "/r"
[admin]
users = { ops = "h",
  dev = "k" }
`
	lines := keyLines([]byte(doc))
	want := map[string]int{"a": 1, "site[1]": 2, "site[1].hosts": 3, "site[1].route[1].path": 5,
		"site[1].route[2].proxy": 7, "site[2].maintenance.page": 10, "site[2].route[1].root": 12,
		"admin.users.ops": 14}
	for k, l := range want {
		if lines[k] != l {
			t.Errorf("%s: line %d, want %d", k, lines[k], l)
		}
	}
}
