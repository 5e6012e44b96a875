package web

import (
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"golang.org/x/sys/unix"

	"bartleby/internal/certs/capool"
	"bartleby/internal/config"
	"bartleby/internal/web/maint"
)

// maxUpstreams bounds a route's proxy list.
const maxUpstreams = 100

// Check reports what is wrong with the sites beyond their syntax: the files
// and directories they name, regular expressions, upstream URLs and the
// maintenance sections. It starts nothing.
func Check(cfg *config.Config, c *config.Checker) {
	for i, sc := range cfg.Sites {
		key := fmt.Sprintf("site[%d]", i+1)
		checkSite(c, key, sc)
		for j, rc := range sc.Routes {
			compileRoute(c, fmt.Sprintf("%s.route[%d]", key, j+1), rc)
		}
	}
	maint.Check(cfg, c)
}

// checkSite checks the files a site names.
func checkSite(c *config.Checker, key string, sc *config.Site) {
	c.CertFiles(key, sc.Cert, sc.Key)
	if sc.AccessLog != "off" && sc.AccessLog != "stderr" {
		target := sc.AccessLog
		if _, err := os.Stat(target); err != nil {
			target = filepath.Dir(target)
		}
		if err := unix.Access(target, unix.W_OK); err != nil {
			c.Errorf(key+".access_log", "cannot write %s: %v (give a file, \"stderr\" or \"off\")", target, err)
		}
	}
}

// routeSpec is what a route's section compiles to.
type routeSpec struct {
	re          *regexp.Regexp // regex, anchored
	upstreams   []*url.URL
	allow, deny []netip.Prefix
	rateEvents  int // rate_limit: so many requests per ratePer; 0 for none
	ratePer     time.Duration
}

// compileRoute compiles a route's regex, upstreams, client lists and rate
// and checks the files it names; problems go to c under key.
func compileRoute(c *config.Checker, key string, rc *config.Route) routeSpec {
	rs := routeSpec{allow: config.Prefixes(rc.Allow), deny: config.Prefixes(rc.Deny)}
	if rc.RateLimit != "" {
		// config reported a bad rate; such a config never runs.
		rs.rateEvents, rs.ratePer, _ = config.ParseRate(rc.RateLimit)
	}
	if rc.Regex != "" && len(rc.Regex) <= config.MaxRegex {
		re, err := regexp.Compile("^(?:" + rc.Regex + ")$")
		if err != nil {
			c.Errorf(key+".regex", "%v", err)
		}
		rs.re = re
	}
	if rc.Root != "" {
		c.Directory(key+".root", rc.Root)
	}
	if rc.Proxy != nil {
		rs.upstreams = upstreams(c, key+".proxy", rc.Proxy)
		capool.Check(c, key+".proxy_ca", rc.ProxyCA)
	}
	return rs
}

// upstreams parses a proxy value: an upstream URL or a list of them.
func upstreams(c *config.Checker, key string, proxy any) []*url.URL {
	var list []string
	switch p := proxy.(type) {
	case string:
		list = []string{p}
	case []any:
		for _, v := range p {
			s, ok := v.(string)
			if !ok {
				c.Errorf(key, "must be an upstream URL or a list of them, like \"http://127.0.0.1:8080\"")
				return nil
			}
			list = append(list, s)
		}
	default:
		c.Errorf(key, "must be an upstream URL or a list of them, like \"http://127.0.0.1:8080\"")
		return nil
	}
	if len(list) == 0 || len(list) > maxUpstreams {
		c.Errorf(key, "must list 1 to %d upstreams", maxUpstreams)
	}
	var out []*url.URL
	for _, s := range list {
		u := c.HTTPURL(key, s)
		if u == nil {
			continue
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			c.Errorf(key, "%q: give only scheme, host and port (the request's path is passed as is)", s)
			continue
		}
		out = append(out, u)
	}
	return out
}

// hsts is a site's Strict-Transport-Security value, "" when disabled.
func hsts(sc *config.Site) string {
	age := sc.HSTSMaxAge.Duration
	if sc.HTTPS == "off" || age <= 0 {
		return ""
	}
	v := fmt.Sprintf("max-age=%d", int64(age.Seconds()))
	if sc.HSTSSubdomains {
		v += "; includeSubDomains"
	}
	return v
}
