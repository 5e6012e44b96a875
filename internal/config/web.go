package config

import (
	"fmt"
	"strings"
	"time"
)

// Web is the shared HTTP and HTTPS listener pair every site is served on.
type Web struct {
	HTTP  string `toml:"http"`
	HTTPS string `toml:"https"`
}

// Site is one web site, chosen by the request's Host.
type Site struct {
	Hosts          []string `toml:"hosts" what:"a list of names"` // exact names or "*.example.org"
	HTTPS          string   `toml:"https"`                        // always | off
	HSTSMaxAge     Duration `toml:"hsts_max_age"`                 // "0s" sends no HSTS
	HSTSSubdomains bool     `toml:"hsts_subdomains"`              // add includeSubDomains
	ACMEEmail      string   `toml:"acme_email"`
	Cert           string   `toml:"cert"`
	Key            string   `toml:"key"`
	AccessLog      string   `toml:"access_log"`        // a file, "stderr" or "off"
	AccessLogFmt   string   `toml:"access_log_format"` // combined | json
	Routes         []*Route `toml:"route"`

	Maintenance *Maintenance `toml:"maintenance"`
}

// Route is one rule of a site, tried in order: a matcher (path prefix,
// extensions or regular expression; none matches everything) and exactly
// one action (root, proxy, redirect or respond).
type Route struct {
	Path  string   `toml:"path"`  // URL path prefix, "/wp-uploads/"
	Ext   []string `toml:"ext"`   // file extensions without the dot
	Regex string   `toml:"regex"` // anchored at both ends, matched against the path

	Root     string `toml:"root"`     // serve static files from this directory
	Proxy    any    `toml:"proxy"`    // an upstream URL or a list of them
	Redirect string `toml:"redirect"` // target; {path} and {query} are replaced
	Code     int    `toml:"code"`     // redirect status
	Respond  string `toml:"respond"`  // a fixed body
	Status   int    `toml:"status"`   // respond status

	StripPrefix  string   `toml:"strip_prefix"`  // removed from the path before the action
	Index        []string `toml:"index"`         // index file names
	Browse       bool     `toml:"browse"`        // list directories without an index
	CacheControl string   `toml:"cache_control"` // Cache-Control of static responses

	ProxyHost       string   `toml:"proxy_host"` // pass | rewrite
	ProxyCA         string   `toml:"proxy_ca"`   // CA file or directory for https upstreams
	DialTimeout     Duration `toml:"dial_timeout"`
	ResponseTimeout Duration `toml:"response_timeout"`
	IdleTimeout     Duration `toml:"idle_timeout"`
	FailDuration    Duration `toml:"fail_duration"`
	WebSocket       bool     `toml:"websocket"` // pass Upgrade: websocket to the upstream

	// Access and limits, for every action (checked in webroute.go).
	Allow     []string          `toml:"allow"`      // client CIDRs let in; everyone when empty
	Deny      []string          `toml:"deny"`       // client CIDRs refused, before allow
	BasicAuth map[string]string `toml:"basic_auth"` // user -> bcrypt hash
	RateLimit string            `toml:"rate_limit"` // "10/m" per client address
	RateBurst int               `toml:"rate_burst"` // default: the rate's count
	MaxBody   Size              `toml:"max_body"`   // request body limit; 413 beyond; "0" for none
	Headers   *RouteHeaders     `toml:"headers"`    // response headers to set, add, remove
	Compress  *bool             `toml:"compress"`   // gzip/zstd; default true
	Cache     *RouteCache       `toml:"cache"`      // proxy cache: "10m" or a table
}

// Limits of a site's section.
const (
	MaxRoutes = 1000
	MaxRegex  = 1000
)

// Name is the site's name in logs, pages and metrics: its first host.
func (s *Site) Name() string {
	if len(s.Hosts) == 0 {
		return ""
	}
	return s.Hosts[0]
}

func (cfg *Config) checkWeb(c *Checker) {
	if len(cfg.Sites) == 0 {
		if cfg.Web != nil {
			c.Warnf("web", "no [[site]] is configured; the web listeners are not started")
		}
		return
	}
	c.listen("web.http", cfg.Web.HTTP)
	c.listen("web.https", cfg.Web.HTTPS)
	seen := map[string]string{}
	for i, s := range cfg.Sites {
		key := fmt.Sprintf("site[%d]", i+1)
		s.check(c, key, cfg.ACME != nil)
		for j, h := range s.Hosts {
			hk := fmt.Sprintf("%s.hosts[%d]", key, j+1)
			if other, dup := seen[h]; dup {
				c.Errorf(hk, "host %q is already served by %s", h, other)
			}
			seen[h] = key
		}
	}
}

func (s *Site) check(c *Checker, key string, acme bool) {
	if len(s.Hosts) == 0 {
		c.Errorf(key+".hosts", "a site needs at least one host name")
	}
	for i, h := range s.Hosts {
		s.Hosts[i] = strings.TrimSuffix(strings.ToLower(h), ".")
		if err := checkHost(s.Hosts[i]); err != nil {
			c.Errorf(fmt.Sprintf("%s.hosts[%d]", key, i+1), "%v", err)
		}
	}
	c.oneOf(key+".https", s.HTTPS, "always", "off")
	if s.HTTPS == "off" {
		c.Warnf(key+".https", "site %v is served over plain HTTP only", s.Hosts)
	}
	c.duration(key+".hsts_max_age", s.HSTSMaxAge)
	s.Cert, s.Key = c.Path(s.Cert), c.Path(s.Key)
	c.certPair(key, s.Cert, s.Key)
	for i, h := range s.Hosts {
		if strings.HasPrefix(h, "*.") && acme && s.Cert == "" && s.HTTPS != "off" {
			c.Errorf(fmt.Sprintf("%s.hosts[%d]", key, i+1), "wildcard host %q needs cert and key: ACME over HTTP-01 cannot issue wildcard certificates", h)
		}
	}
	c.oneOf(key+".access_log_format", s.AccessLogFmt, "combined", "json")
	if s.AccessLog != "off" && s.AccessLog != "stderr" {
		s.AccessLog = c.Path(s.AccessLog)
	}
	if len(s.Routes) > MaxRoutes {
		c.Errorf(key+".route", "more than %d routes", MaxRoutes)
	}
	for i, r := range s.Routes {
		r.check(c, fmt.Sprintf("%s.route[%d]", key, i+1))
	}
	if s.Maintenance != nil {
		s.Maintenance.check(c, key+".maintenance")
	}
}

// checkHost accepts a DNS name or "*.name"; no port, no IP brackets.
func checkHost(h string) error {
	name := strings.TrimPrefix(h, "*.")
	if name == "" || len(h) > 253 || strings.Contains(name, "*") {
		return fmt.Errorf("%q is not a host name (like \"example.org\" or \"*.example.org\")", h)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q is not a host name (like \"example.org\" or \"*.example.org\")", h)
		}
		if !HostLabel(label) {
			return fmt.Errorf("%q is not a host name (like \"example.org\" or \"*.example.org\"; no port)", h)
		}
	}
	return nil
}

// HostLabel reports whether l is one label of a lower-case host name: 1
// to 63 letters, digits, "-" and "_" (seen in real names, and allowed by
// Postfix, though not by RFC 1123), neither first nor last a "-".
func HostLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (r *Route) check(c *Checker, key string) {
	r.checkMatcher(c, key)
	actions := 0
	for _, set := range []bool{r.Root != "", r.Proxy != nil, r.Redirect != "", c.Has(key + ".respond")} {
		if set {
			actions++
		}
	}
	if actions != 1 {
		c.Errorf(key, "a route needs exactly one of root, proxy, redirect or respond, got %d", actions)
	}
	if r.StripPrefix != "" && !strings.HasPrefix(r.StripPrefix, "/") {
		c.Errorf(key+".strip_prefix", "%q must start with /", r.StripPrefix)
	}
	r.checkStatic(c, key)
	r.checkProxy(c, key)
	r.checkAccessAndLimits(c, key)
	switch {
	case r.Redirect != "" && r.Code != 301 && r.Code != 302 && r.Code != 303 && r.Code != 307 && r.Code != 308:
		c.Errorf(key+".code", "must be 301, 302, 303, 307 or 308, got %d", r.Code)
	case r.Redirect == "" && c.Has(key+".code"):
		c.Errorf(key+".code", "code goes with redirect; use status with respond")
	}
	if c.Has(key+".status") && !c.Has(key+".respond") {
		c.Errorf(key+".status", "status goes with respond; use code with redirect")
	}
	if r.Status < 200 || r.Status > 599 {
		c.Errorf(key+".status", "must be an HTTP status from 200 to 599, got %d", r.Status)
	}
}

func (r *Route) checkMatcher(c *Checker, key string) {
	matchers := 0
	if r.Path != "" {
		matchers++
		if !strings.HasPrefix(r.Path, "/") {
			c.Errorf(key+".path", "%q must start with /", r.Path)
		}
	}
	if len(r.Ext) > 0 {
		matchers++
		for i, e := range r.Ext {
			r.Ext[i] = strings.ToLower(strings.TrimPrefix(e, "."))
			if r.Ext[i] == "" || strings.ContainsAny(r.Ext[i], "/.") {
				c.Errorf(fmt.Sprintf("%s.ext[%d]", key, i+1), "%q is not a file extension (like \"css\")", e)
			}
		}
	}
	if r.Regex != "" {
		matchers++
		if len(r.Regex) > MaxRegex {
			c.Errorf(key+".regex", "longer than %d characters", MaxRegex)
		}
	}
	if matchers > 1 {
		c.Errorf(key, "a route matches by one of path, ext or regex, not several (use several routes)")
	}
}

func (r *Route) checkStatic(c *Checker, key string) {
	if r.Root == "" {
		for _, k := range []string{"index", "browse", "cache_control"} {
			if c.Has(key + "." + k) {
				c.Errorf(key+"."+k, "%s goes with root", k)
			}
		}
		return
	}
	r.Root = c.Path(r.Root)
	for i, ix := range r.Index {
		if ix == "" || strings.ContainsAny(ix, "/\x00") || ix[0] == '.' {
			c.Errorf(fmt.Sprintf("%s.index[%d]", key, i+1), "%q must be a plain file name", ix)
		}
	}
}

func (r *Route) checkProxy(c *Checker, key string) {
	for _, k := range []string{"proxy_host", "proxy_ca", "dial_timeout", "response_timeout", "idle_timeout", "fail_duration", "websocket"} {
		if r.Proxy == nil && c.Has(key+"."+k) {
			c.Errorf(key+"."+k, "%s goes with proxy", k)
		}
	}
	if r.Proxy == nil {
		return
	}
	c.oneOf(key+".proxy_host", r.ProxyHost, "pass", "rewrite")
	r.ProxyCA = c.Path(r.ProxyCA)
	c.duration(key+".dial_timeout", r.DialTimeout)
	c.duration(key+".response_timeout", r.ResponseTimeout)
	c.duration(key+".idle_timeout", r.IdleTimeout)
	c.duration(key+".fail_duration", r.FailDuration)
}

// Maintenance is a site's maintenance mode: its page and who bypasses it.
// Every site can be put in maintenance (`bartleby maint on`); this section
// only changes the defaults.
type Maintenance struct {
	Page             string   `toml:"page"`               // html/template file; built-in page if empty
	Message          string   `toml:"message"`            // default message shown on the page
	RetryAfter       Duration `toml:"retry_after"`        // Retry-After when no end is known
	Allow            []string `toml:"allow"`              // client CIDRs that bypass
	BypassSecretFile string   `toml:"bypass_secret_file"` // token for /.well-known/bartleby/bypass/TOKEN
	CookieLifetime   Duration `toml:"cookie_lifetime"`    // bypass cookie lifetime
	Exempt           []string `toml:"exempt"`             // paths always passed to the site ("/healthz", "/status/")
	WhenBackendDown  bool     `toml:"when_backend_down"`  // serve the maintenance page when every upstream fails
}

func (m *Maintenance) check(c *Checker, key string) {
	c.duration(key+".retry_after", m.RetryAfter)
	if c.duration(key+".cookie_lifetime", m.CookieLifetime) && m.CookieLifetime.Duration < time.Minute {
		c.Errorf(key+".cookie_lifetime", "must be at least 1m")
	}
	c.prefixes(key+".allow", m.Allow)
	for i, p := range m.Exempt {
		if !strings.HasPrefix(p, "/") {
			c.Errorf(fmt.Sprintf("%s.exempt[%d]", key, i+1), "%q must be a path starting with /", p)
		}
	}
	m.BypassSecretFile = c.Path(m.BypassSecretFile)
	m.Page = c.Path(m.Page)
}
