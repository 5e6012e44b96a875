package maint

import (
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
	cookieLifetime  time.Duration
	cookieSecure    bool
	exempt          []string
	whenBackendDown bool
}

// compile turns a site's section (nil when absent) into its settings.
func compile(name string, mc *config.Maintenance, plainHTTP bool) siteConfig {
	sc := siteConfig{name: name, page: builtinPage, retryAfter: config.DefaultMaintRetryAfter,
		cookieLifetime: config.DefaultMaintCookieLifetime, cookieSecure: !plainHTTP}
	if mc == nil {
		return sc
	}
	if mc.PageTemplate != nil { // read and checked with the config
		sc.page = mc.PageTemplate
	}
	sc.message = mc.Message
	sc.retryAfter = mc.RetryAfter.Or(sc.retryAfter)
	sc.cookieLifetime = mc.CookieLifetime.Or(sc.cookieLifetime)
	sc.allow = mc.AllowNets
	sc.trusted = mc.Trusted
	sc.exempt = mc.Exempt
	sc.whenBackendDown = mc.WhenBackendDown
	if mc.BypassSecret != "" {
		sc.token = mc.BypassSecret
		sc.cookieKey = deriveKey(mc.BypassSecret)
	}
	return sc
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
