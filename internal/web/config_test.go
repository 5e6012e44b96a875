package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bartleby/internal/config"
)

// parseConfig loads a config written to a temporary directory; {{dir}} is
// replaced by it and www/ and uploads/ exist there. [web] listens on
// 127.0.0.1:18080 and :18443 (never bound by these tests).
func parseConfig(t testing.TB, text string) (*config.Config, error) {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"www", "uploads"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	text = "state_dir = \"{{dir}}/state\"\n" + text + "\n[web]\nhttp = \"127.0.0.1:18080\"\nhttps = \"127.0.0.1:18443\"\n"
	text = strings.ReplaceAll(text, "{{dir}}", dir)
	path := filepath.Join(dir, "b.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.Load(path, Check)
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       []string
	}{
		{"proxy not a URL", `[[site]]
hosts = ["a.test"]
[[site.route]]
path = "/"
root = "{{dir}}/www"
[[site.route]]
proxy = "localhost:8080"
`, []string{`:8: site[1].route[2].proxy: must be an http(s) URL, got "localhost:8080"`}},
		{"two actions and two matchers", `[[site]]
hosts = ["a.test"]
[[site.route]]
path = "/x/"
ext = ["css"]
root = "{{dir}}/www"
redirect = "https://b.test{path}"
`, []string{`:4: site[1].route[1]: a route matches by one of path, ext or regex, not several`,
			`:4: site[1].route[1]: a route needs exactly one of root, proxy, redirect or respond, got 2`}},
		{"bad regex, host, code, root", `[[site]]
hosts = ["a.test:80", "*.*.b.test"]
[[site.route]]
regex = "/(a"
respond = "x"
[[site.route]]
redirect = "/y"
code = 200
[[site.route]]
root = "{{dir}}/nope"
`, []string{`:3: site[1].hosts[1]: "a.test:80" is not a host name`,
			`:3: site[1].hosts[2]: "*.*.b.test" is not a host name`,
			`:5: site[1].route[1].regex: error parsing regexp: missing closing )`,
			`:9: site[1].route[2].code: must be 301, 302, 303, 307 or 308, got 200`,
			`:11: site[1].route[3].root: no such file or directory`}},
		{"proxy options without proxy, bad list", `[[site]]
hosts = ["a.test"]
[[site.route]]
root = "{{dir}}/www"
dial_timeout = "5s"
[[site.route]]
proxy = ["http://127.0.0.1:1", 3]
[[site.route]]
proxy = "http://127.0.0.1:1/app"
proxy_host = "keep"
fail_duration = "soon"
`, []string{`:6: site[1].route[1].dial_timeout: dial_timeout goes with proxy`,
			`:8: site[1].route[2].proxy: must be an upstream URL or a list of them`,
			`:10: site[1].route[3].proxy: "http://127.0.0.1:1/app": give only scheme, host and port`,
			`:11: site[1].route[3].proxy_host: must be one of pass, rewrite, got "keep"`,
			`:12: site[1].route[3].fail_duration: "soon" is not a duration`}},
		{"access, limits and cache", `[[site]]
hosts = ["a.test"]
[[site.route]]
root = "{{dir}}/www"
allow = ["10.0.0.0/33"]
basic_auth = { ann = "plain" }
rate_limit = "10/week"
max_body = "lots"
headers = { set = { "Bad Name" = "x" }, add = { X-Ok = "a\nb" } }
cache = "5m"
[[site.route]]
proxy = "http://127.0.0.1:1"
rate_burst = 3
  [site.route.cache]
  ttl = "soon"
  max_size = "1KB"
  bypass_cookies = ["[wp"]
`, []string{`:6: site[1].route[1].allow[1]: "10.0.0.0/33" is not an IP address or CIDR`,
			`site[1].route[1].basic_auth.ann: must be a bcrypt hash`,
			`:8: site[1].route[1].rate_limit: "10/week" is not a rate`,
			`:9: site[1].route[1].max_body: "lots" is not a size`,
			`site[1].route[1].headers: "Bad Name" is not a header name`,
			`site[1].route[1].headers.X-Ok: a header value cannot hold a line break`,
			`:11: site[1].route[1].cache: cache goes with proxy`,
			`:14: site[1].route[2].rate_burst: goes with rate_limit`,
			`:16: site[1].route[2].cache.ttl: "soon" is not a duration`,
			`:17: site[1].route[2].cache.max_size: must be at least 1MiB`,
			`:18: site[1].route[2].cache.bypass_cookies[1]: "[wp" is not a cookie name glob`}},
		{"wildcard with ACME", `[acme]
email = "ops@b.test"
[[site]]
hosts = ["b.test", "*.b.test"]
`, []string{`:5: site[1].hosts[2]: wildcard host "*.b.test" needs cert and key`}},
		{"same host twice", `[[site]]
hosts = ["a.test"]
[[site]]
hosts = ["A.test."]
`, []string{`:5: site[2].hosts[1]: host "a.test" is already served by site[1]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseConfig(t, tt.text)
			if err == nil {
				t.Fatal("accepted")
			}
			errs := err.(config.Errors)
			if len(errs) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(errs), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfig(t, `[[site]]
hosts = ["a.test"]
hsts_subdomains = true
[[site.route]]
ext = [".CSS", "js"]
root = "{{dir}}/www"
[[site.route]]
proxy = ["http://127.0.0.1:1", "https://127.0.0.1:2"]
[[site.route]]
redirect = "/"
[[site]]
hosts = ["b.test"]
https = "off"
`)
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Sites[0], cfg.Sites[1]
	if hsts(a) != "max-age=31536000; includeSubDomains" || hsts(b) != "" {
		t.Errorf("HSTS %q, %q", hsts(a), hsts(b))
	}
	r := a.Routes
	if strings.Join(r[0].Ext, ",") != "css,js" || strings.Join(r[0].Index, ",") != "index.html" {
		t.Errorf("static route %+v", r[0])
	}
	if len(compileRoute(cfg.Checker(), "", r[1]).upstreams) != 2 || r[1].ProxyHost != "pass" || r[2].Code != 308 {
		t.Errorf("routes %+v %+v", r[1], r[2])
	}
	if a.AccessLog != "off" || a.AccessLogFmt != "combined" {
		t.Errorf("access log %q %q", a.AccessLog, a.AccessLogFmt)
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].String(), "site[2].https") {
		t.Errorf("warnings %v", cfg.Warnings)
	}
}
