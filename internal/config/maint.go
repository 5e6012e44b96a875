package config

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// Maintenance is a site's maintenance mode: its page and who bypasses it.
// Every site can be put in maintenance (`bartleby maint on`); this section
// only changes the defaults.
type Maintenance struct {
	Page             string   `toml:"page"`               // html/template file; built-in page if empty
	Message          string   `toml:"message"`            // default message shown on the page
	RetryAfter       Duration `toml:"retry_after"`        // Retry-After when no end is known; default 5m
	Allow            []string `toml:"allow"`              // client CIDRs that bypass
	BypassSecretFile string   `toml:"bypass_secret_file"` // token for /.well-known/bartleby/bypass/TOKEN
	CookieLifetime   Duration `toml:"cookie_lifetime"`    // bypass cookie lifetime; default 12h
	Exempt           []string `toml:"exempt"`             // paths always passed to the site ("/healthz", "/status/")
	WhenBackendDown  bool     `toml:"when_backend_down"`  // serve the maintenance page when every upstream fails

	// PageTemplate is the custom page, read and parsed at check time so a
	// broken page is a config error rather than a broken response.
	PageTemplate *template.Template `toml:"-"`
	// AllowNets is Allow parsed.
	AllowNets []netip.Prefix `toml:"-"`
	// Trusted is the config's trusted_proxies: peers whose X-Forwarded-For
	// names the real client.
	Trusted []netip.Prefix `toml:"-"`
	// BypassSecret is the content of BypassSecretFile.
	BypassSecret string `toml:"-"`
}

// MaintenancePage is what a maintenance page template is executed with.
// A custom page may use any of these fields.
type MaintenancePage struct {
	Status     int       // 503, or 502/504 for a backend error page
	Title      string    // "Down for maintenance", "Bad gateway", …
	Site       string    // the site's name (its first host)
	Message    string    // the operator's message
	Until      time.Time // expected end; zero when unknown
	BackAround string    // the end in words: "06:00 UTC" or "06:00 UTC on Tue 1 Dec"; "" when unknown
	RetryAfter int       // seconds, as sent in Retry-After
}

// Maintenance defaults.
const (
	DefaultMaintRetryAfter     = 5 * time.Minute
	DefaultMaintCookieLifetime = 12 * time.Hour
	maxMaintPage               = 1 << 20
	minBypassSecret            = 16
	maxBypassSecret            = 256
)

func (m *Maintenance) check(c *checker, cfg *Config, key string) {
	c.duration(key+".retry_after", m.RetryAfter)
	c.duration(key+".cookie_lifetime", m.CookieLifetime)
	if m.CookieLifetime.Set() && m.CookieLifetime.Duration < time.Minute {
		c.errorf(key+".cookie_lifetime", "must be at least 1m")
	}
	m.AllowNets = c.prefixes(key+".allow", m.Allow)
	m.Trusted = cfg.Trusted
	for i, p := range m.Exempt {
		if !strings.HasPrefix(p, "/") {
			c.errorf(fmt.Sprintf("%s.exempt[%d]", key, i+1), "%q must be a path starting with /", p)
		}
	}
	if m.BypassSecretFile != "" {
		m.BypassSecretFile = cfg.Path(m.BypassSecretFile)
		m.BypassSecret = c.secret(key+".bypass_secret", "", key+".bypass_secret_file", m.BypassSecretFile)
		checkBypassSecret(c, key+".bypass_secret_file", m.BypassSecret)
	}
	if m.Page != "" {
		m.Page = cfg.Path(m.Page)
		t, err := LoadMaintenancePage(m.Page)
		if err != nil {
			c.errorf(key+".page", "%v", err)
		}
		m.PageTemplate = t
	}
}

// checkBypassSecret insists on a token that is hard to guess and fits in a
// URL path segment unchanged.
func checkBypassSecret(c *checker, key, s string) {
	if s == "" {
		return
	}
	if len(s) < minBypassSecret || len(s) > maxBypassSecret {
		c.errorf(key, "the bypass token must be %d to %d characters (try: openssl rand -hex 24)", minBypassSecret, maxBypassSecret)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '~') {
			c.errorf(key, "the bypass token may only hold letters, digits and - _ . ~ (try: openssl rand -hex 24)")
			return
		}
	}
}

// LoadMaintenancePage reads and parses a custom maintenance page, and
// executes it once so that a reference to an unknown variable is found now.
func LoadMaintenancePage(path string) (*template.Template, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read page: %v", unwrapPath(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMaintPage+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read page %s: %v", path, unwrapPath(err))
	}
	if len(b) > maxMaintPage {
		return nil, fmt.Errorf("page %s is larger than %d bytes", path, maxMaintPage)
	}
	return ParseMaintenancePage(path, b)
}

// ParseMaintenancePage parses a page template and checks it against a
// sample MaintenancePage.
func ParseMaintenancePage(name string, b []byte) (*template.Template, error) {
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("page %s is not valid UTF-8", name)
	}
	t, err := template.New(name).Option("missingkey=error").Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("page %s: %v", name, err)
	}
	sample := MaintenancePage{Status: 503, Title: "Down for maintenance", Site: "example.org",
		Message: "Upgrading.", Until: time.Now(), BackAround: "06:00 UTC", RetryAfter: 300}
	var buf bytes.Buffer
	if err := t.Execute(&buf, sample); err != nil {
		return nil, fmt.Errorf("page %s: %v (variables: .Status .Title .Site .Message .Until .BackAround .RetryAfter)", name, err)
	}
	if len(bytes.TrimSpace(buf.Bytes())) == 0 {
		return nil, fmt.Errorf("page %s renders to nothing", name)
	}
	return t, nil
}
