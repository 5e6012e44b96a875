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

func TestBadConfigs(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string // each problem, without the file name
	}{
		{"unknown keys all reported",
			"state_dir = \"{{dir}}/s\"\nbogus = 1\n[admin]\nlisten = \"127.0.0.1:8025\"\nlisen = \"x\"\n",
			[]string{":2: bogus: unknown key", ":5: admin.lisen: unknown key"}},
		{"syntax error located",
			"state_dir = \"{{dir}}/s\"\n[admin\n",
			[]string{":2: "}},
		{"bad listen and CIDR together",
			"state_dir = \"{{dir}}/s\"\n[admin]\nlisten = \"localhost8025\"\nallow = [\"10.0.0.0/8\", \"nonsense\"]\n",
			[]string{
				`:3: admin.listen: "localhost8025" is not a listen address (like "127.0.0.1:8080", "[::1]:25" or ":443")`,
				`:4: admin.allow[2]: "nonsense" is not an IP address or CIDR (like "192.0.2.0/24")`,
			}},
		{"two parts on one address",
			"state_dir = \"{{dir}}/s\"\n[admin]\nlisten = \"127.0.0.1:8443\"\n[web]\nhttps = \"127.0.0.1:8443\"\n[[site]]\nhosts = [\"a.test\"]\n",
			[]string{`:5: web.https: "127.0.0.1:8443" is already used by admin.listen (line 3)`}},
		{"wildcard overlaps a specific address",
			"state_dir = \"{{dir}}/s\"\n[admin]\nlisten = \":8025\"\n[web]\nhttp = \"127.0.0.1:8025\"\nhttps = \"127.0.0.1:8026\"\n[[site]]\nhosts = [\"a.test\"]\n",
			[]string{`:5: web.http: "127.0.0.1:8025" is already used by admin.listen (line 3)`}},
		{"bad duration",
			"state_dir = \"{{dir}}/s\"\n[admin]\nsession_ttl = \"12 hours\"\n",
			[]string{`:3: admin.session_ttl: "12 hours" is not a duration (like "90s", "30m", "2h", "5d")`}},
		{"missing cert file",
			"state_dir = \"{{dir}}/s\"\n[admin]\ncert = \"{{dir}}/nope.crt\"\nkey = \"{{dir}}/nope.key\"\n",
			[]string{":3: admin.cert: cannot read {{dir}}/nope.crt: no such file or directory",
				":4: admin.key: cannot read {{dir}}/nope.key: no such file or directory"}},
		{"cert without key",
			"state_dir = \"{{dir}}/s\"\n[admin]\ncert = \"x.crt\"\n",
			[]string{":2: admin: give both cert and key, or neither"}},
		{"empty CA directory",
			"state_dir = \"{{dir}}/s\"\n[acme]\nca_root = \"{{dir}}\"\n",
			[]string{":3: acme.ca_root: CA directory {{dir}}: no PEM certificate in any file"}},
		{"state_dir is a file",
			"state_dir = \"{{dir}}/b.toml\"\n",
			[]string{":1: state_dir: {{dir}}/b.toml is not a directory"}},
		{"admin user without a bcrypt hash",
			"state_dir = \"{{dir}}/s\"\n[admin]\nusers = { ops = \"secret\" }\n",
			[]string{":3: admin.users.ops: must be a bcrypt hash"}},
		{"wrong type",
			"state_dir = \"{{dir}}/s\"\n[admin]\nallow = \"127.0.0.1\"\n",
			[]string{":3: admin.allow: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.text)
			errs, ok := err.(Errors)
			if !ok {
				t.Fatalf("want config.Errors, got %T %v", err, err)
			}
			if len(errs) != len(tt.want) {
				t.Fatalf("want %d problems, got %d:\n%v", len(tt.want), len(errs), err)
			}
			for i, p := range errs {
				dir := filepath.Dir(p.File)
				want := strings.ReplaceAll(tt.want[i], "{{dir}}", dir)
				got := strings.TrimPrefix(p.String(), p.File)
				if !strings.HasPrefix(got, want) {
					t.Errorf("problem %d:\n got %s\nwant %s…", i+1, got, want)
				}
			}
		})
	}
}

func TestDefaultsAndWarnings(t *testing.T) {
	cfg, err := parse(t, "state_dir = \"s\"\n[admin]\n[[site]]\nhosts = [\"a.test\"]\nhttps = \"off\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(cfg.StateDir) || filepath.Dir(cfg.StateDir) != filepath.Dir(cfg.File) {
		t.Errorf("state_dir %q not resolved against the config's directory", cfg.StateDir)
	}
	if cfg.Admin.Listen != "127.0.0.1:8025" || len(cfg.Admin.AllowNets) != 2 {
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
	c := &checker{file: "f", lines: map[string]int{"x.password_file": 7}}
	if got := c.secret("x.password", "", "x.password_file", path); got != "hunter2" {
		t.Errorf("secret = %q", got)
	}
	if len(c.warns) != 1 || !strings.Contains(c.warns[0].String(), "f:7: x.password_file: ") || !strings.Contains(c.warns[0].String(), "chmod 600") {
		t.Errorf("want a world-readable warning, got %v", c.warns)
	}
	if strings.Contains(c.warns.Error(), "hunter2") {
		t.Error("the secret leaked into a message")
	}
	c.secret("x.password", "inline", "x.password_file", path)
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
