package maint

import (
	"fmt"
	"html/template"
	"net/netip"
	"strings"
	"time"

	"bartleby/internal/config"
)

// siteConfig is a site's [site.maintenance] section, compiled.
type siteConfig struct {
	name            string
	page            *template.Template
	message         string
	retryAfter      time.Duration
	allow           []netip.Prefix
	trusted         []netip.Prefix
	cookieKey       []byte // nil without a bypass secret
	token           string
	ownToken        string // from this node's bypass_secret_file; token may come from the fleet
	cookieLifetime  time.Duration
	cookieSecure    bool
	exempt          []string
	whenBackendDown bool
}

// compile turns a site's maintenance settings into what runs, reading the
// page and the bypass secret the section names; problems go to c under key.
func compile(c *config.Checker, key string, cs *config.Site, trusted []netip.Prefix) siteConfig {
	mc := cs.Maintenance
	if mc == nil {
		mc = config.Defaults().Sites[0].Maintenance
	}
	sc := siteConfig{name: Name(cs), page: builtinPage, message: mc.Message,
		retryAfter: mc.RetryAfter.Duration, cookieLifetime: mc.CookieLifetime.Duration, cookieSecure: cs.HTTPS != "off",
		allow: config.Prefixes(mc.Allow), trusted: trusted, exempt: mc.Exempt, whenBackendDown: mc.WhenBackendDown}
	if mc.Page != "" {
		t, err := LoadPage(mc.Page)
		if err != nil {
			c.Errorf(key+".page", "%v", err)
		} else {
			sc.page = t
		}
	}
	if mc.BypassSecretFile != "" {
		secret := c.Secret("", key+".bypass_secret_file", mc.BypassSecretFile)
		if checkBypassSecret(c, key+".bypass_secret_file", secret) {
			sc.token, sc.ownToken, sc.cookieKey = secret, secret, deriveKey(secret)
		}
	}
	return sc
}

// Check reports what is wrong with the sites' [site.maintenance] sections
// beyond their syntax: the page and the bypass secret. It starts nothing.
func Check(cfg *config.Config, c *config.Checker) {
	for i, cs := range cfg.Sites {
		compile(c, fmt.Sprintf("site[%d].maintenance", i+1), cs, nil)
	}
}

// Bypass tokens are hard to guess and fit in a URL path segment unchanged.
const (
	minBypassSecret = 16
	maxBypassSecret = 256
)

// checkBypassSecret reports a bypass token that is hard to guess or does
// not fit in a URL path segment unchanged.
func checkBypassSecret(c *config.Checker, key, s string) bool {
	if s == "" {
		return false
	}
	if problem := bypassTokenProblem(s); problem != "" {
		c.Errorf(key, "%s", problem)
		return false
	}
	return true
}

// bypassTokenProblem says what is wrong with a bypass token, or "".
func bypassTokenProblem(s string) string {
	if len(s) < minBypassSecret || len(s) > maxBypassSecret {
		return fmt.Sprintf("the bypass token must be %d to %d characters (try: openssl rand -hex 24)", minBypassSecret, maxBypassSecret)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '~') {
			return "the bypass token may only hold letters, digits and - _ . ~ (try: openssl rand -hex 24)"
		}
	}
	return ""
}

// exempted reports whether path is always passed to the site: an exempt
// entry ending in "/" is a prefix, any other must match exactly.
func (sc *siteConfig) exempted(path string) bool {
	for _, e := range sc.exempt {
		if path == e || strings.HasSuffix(e, "/") && strings.HasPrefix(path, e) {
			return true
		}
	}
	return false
}

// bypassSummary says in words how one gets past the page, for status.
func (sc *siteConfig) bypassSummary() string {
	var parts []string
	if len(sc.allow) > 0 {
		s := make([]string, len(sc.allow))
		for i, p := range sc.allow {
			s[i] = p.String()
		}
		parts = append(parts, "allow "+strings.Join(s, " "))
	}
	if sc.cookieKey != nil {
		parts = append(parts, "secret URL")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
