package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Web is the shared HTTP and HTTPS listener pair every site is served on.
type Web struct {
	HTTP  string `toml:"http"`  // ":80" by default
	HTTPS string `toml:"https"` // ":443" by default
}

// Site is one web site, chosen by the request's Host.
type Site struct {
	Hosts          []string `toml:"hosts"`           // exact names or "*.example.org"
	HTTPS          string   `toml:"https"`           // always (default) | off
	HSTSMaxAge     Duration `toml:"hsts_max_age"`    // default 365d; "0s" sends no HSTS
	HSTSSubdomains bool     `toml:"hsts_subdomains"` // add includeSubDomains
	ACMEEmail      string   `toml:"acme_email"`
	Cert           string   `toml:"cert"`
	Key            string   `toml:"key"`
	AccessLog      string   `toml:"access_log"`        // a file, "stderr" or "off" (default)
	AccessLogFmt   string   `toml:"access_log_format"` // combined (default) | json
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
	Code     int    `toml:"code"`     // redirect status; default 308
	Respond  string `toml:"respond"`  // a fixed body
	Status   int    `toml:"status"`   // respond status; default 200

	StripPrefix  string   `toml:"strip_prefix"`  // removed from the path before the action
	Index        []string `toml:"index"`         // default ["index.html"]
	Browse       bool     `toml:"browse"`        // list directories without an index
	CacheControl string   `toml:"cache_control"` // Cache-Control of static responses

	ProxyHost       string   `toml:"proxy_host"` // pass (default) | rewrite
	ProxyCA         string   `toml:"proxy_ca"`   // CA file or directory for https upstreams
	DialTimeout     Duration `toml:"dial_timeout"`
	ResponseTimeout Duration `toml:"response_timeout"`
	IdleTimeout     Duration `toml:"idle_timeout"`
	FailDuration    Duration `toml:"fail_duration"`

	// Access and limits, for every action (checked in webroute.go).
	Allow     []string          `toml:"allow"`      // client CIDRs let in; everyone when empty
	Deny      []string          `toml:"deny"`       // client CIDRs refused, before allow
	BasicAuth map[string]string `toml:"basic_auth"` // user -> bcrypt hash
	RateLimit string            `toml:"rate_limit"` // "10/m" per client address
	RateBurst int               `toml:"rate_burst"` // default: the rate's count
	MaxBody   Size              `toml:"max_body"`   // request body limit; 413 beyond
	Headers   *RouteHeaders     `toml:"headers"`    // response headers to set, add, remove
	Compress  *bool             `toml:"compress"`   // gzip/zstd; default true
	Cache     *RouteCache       `toml:"cache"`      // proxy cache: "10m" or a table

	// Upstreams is Proxy parsed.
	Upstreams []*url.URL `toml:"-"`
	// Re is Regex compiled, anchored.
	Re *regexp.Regexp `toml:"-"`
	// AllowNets, DenyNets and Rate are Allow, Deny and RateLimit parsed.
	AllowNets, DenyNets []netip.Prefix `toml:"-"`
	Rate                RateLimit      `toml:"-"`
}

// Web defaults.
const (
	DefaultHSTSMaxAge      = 365 * 24 * time.Hour
	DefaultDialTimeout     = 5 * time.Second
	DefaultResponseTimeout = 60 * time.Second
	DefaultIdleTimeout     = 90 * time.Second
	DefaultFailDuration    = 10 * time.Second
	maxRoutes              = 1000
	maxUpstreams           = 100
	maxRegex               = 1000
)

// Name is the site's name in logs, pages and metrics: its first host.
func (s *Site) Name() string {
	if len(s.Hosts) == 0 {
		return ""
	}
	return s.Hosts[0]
}

func (cfg *Config) checkWeb(c *checker) {
	if len(cfg.Sites) == 0 {
		if cfg.Web != nil {
			c.warnf("web", "no [[site]] is configured; the web listeners are not started")
		}
		return
	}
	if cfg.Web == nil {
		cfg.Web = &Web{}
	}
	if cfg.Web.HTTP == "" {
		cfg.Web.HTTP = ":80"
	}
	if cfg.Web.HTTPS == "" {
		cfg.Web.HTTPS = ":443"
	}
	c.listen("web.http", cfg.Web.HTTP)
	c.listen("web.https", cfg.Web.HTTPS)
	seen := map[string]string{}
	for i, s := range cfg.Sites {
		key := fmt.Sprintf("site[%d]", i+1)
		s.check(c, cfg, key)
		for j, h := range s.Hosts {
			hk := fmt.Sprintf("%s.hosts[%d]", key, j+1)
			if other, dup := seen[h]; dup {
				c.errorf(hk, "host %q is already served by %s", h, other)
			}
			seen[h] = key
		}
	}
}

func (s *Site) check(c *checker, cfg *Config, key string) {
	if len(s.Hosts) == 0 {
		c.errorf(key+".hosts", "a site needs at least one host name")
	}
	for i, h := range s.Hosts {
		s.Hosts[i] = strings.TrimSuffix(strings.ToLower(h), ".")
		if err := checkHost(s.Hosts[i]); err != nil {
			c.errorf(fmt.Sprintf("%s.hosts[%d]", key, i+1), "%v", err)
		}
	}
	if s.HTTPS == "" {
		s.HTTPS = "always"
	}
	c.oneOf(key+".https", s.HTTPS, "always", "off")
	if s.HTTPS == "off" {
		c.warnf(key+".https", "site %v is served over plain HTTP only", s.Hosts)
	}
	c.duration(key+".hsts_max_age", s.HSTSMaxAge)
	s.Cert, s.Key = cfg.Path(s.Cert), cfg.Path(s.Key)
	c.certPair(key, s.Cert, s.Key)
	for i, h := range s.Hosts {
		if strings.HasPrefix(h, "*.") && cfg.ACME != nil && s.Cert == "" && s.HTTPS != "off" {
			c.errorf(fmt.Sprintf("%s.hosts[%d]", key, i+1), "wildcard host %q needs cert and key: ACME over HTTP-01 cannot issue wildcard certificates", h)
		}
	}
	s.checkAccessLog(c, cfg, key)
	if len(s.Routes) > maxRoutes {
		c.errorf(key+".route", "more than %d routes", maxRoutes)
	}
	for i, r := range s.Routes {
		r.check(c, cfg, fmt.Sprintf("%s.route[%d]", key, i+1))
	}
	if s.Maintenance != nil {
		s.Maintenance.check(c, cfg, key+".maintenance")
	}
}

// HSTS is the Strict-Transport-Security value, "" when disabled.
func (s *Site) HSTS() string {
	age := s.HSTSMaxAge.Or(DefaultHSTSMaxAge)
	if s.HTTPS == "off" || age <= 0 {
		return ""
	}
	v := fmt.Sprintf("max-age=%d", int64(age/time.Second))
	if s.HSTSSubdomains {
		v += "; includeSubDomains"
	}
	return v
}

func (s *Site) checkAccessLog(c *checker, cfg *Config, key string) {
	if s.AccessLogFmt == "" {
		s.AccessLogFmt = "combined"
	}
	c.oneOf(key+".access_log_format", s.AccessLogFmt, "combined", "json")
	switch s.AccessLog {
	case "", "off":
		s.AccessLog = "off"
	case "stderr":
	default:
		s.AccessLog = cfg.Path(s.AccessLog)
		target := s.AccessLog
		if _, err := os.Stat(target); err != nil {
			target = filepath.Dir(target)
		}
		if err := unix.Access(target, unix.W_OK); err != nil {
			c.errorf(key+".access_log", "cannot write %s: %v (give a file, \"stderr\" or \"off\")", target, err)
		}
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
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("%q is not a host name (like \"example.org\" or \"*.example.org\"; no port)", h)
			}
		}
	}
	return nil
}

func (r *Route) check(c *checker, cfg *Config, key string) {
	r.checkMatcher(c, key)
	actions := 0
	for _, set := range []bool{r.Root != "", r.Proxy != nil, r.Redirect != "", c.has(key + ".respond")} {
		if set {
			actions++
		}
	}
	if actions != 1 {
		c.errorf(key, "a route needs exactly one of root, proxy, redirect or respond, got %d", actions)
	}
	if r.StripPrefix != "" && !strings.HasPrefix(r.StripPrefix, "/") {
		c.errorf(key+".strip_prefix", "%q must start with /", r.StripPrefix)
	}
	r.checkStatic(c, cfg, key)
	r.checkProxy(c, cfg, key)
	r.checkAccessAndLimits(c, key)
	if r.Redirect != "" {
		if r.Code == 0 {
			r.Code = 308
		}
		if r.Code != 301 && r.Code != 302 && r.Code != 303 && r.Code != 307 && r.Code != 308 {
			c.errorf(key+".code", "must be 301, 302, 303, 307 or 308, got %d", r.Code)
		}
	} else if r.Code != 0 {
		c.errorf(key+".code", "code goes with redirect; use status with respond")
	}
	if c.has(key+".status") && !c.has(key+".respond") {
		c.errorf(key+".status", "status goes with respond; use code with redirect")
	}
	if r.Status == 0 {
		r.Status = 200
	}
	if r.Status < 200 || r.Status > 599 {
		c.errorf(key+".status", "must be an HTTP status from 200 to 599, got %d", r.Status)
	}
}

func (r *Route) checkMatcher(c *checker, key string) {
	matchers := 0
	if r.Path != "" {
		matchers++
		if !strings.HasPrefix(r.Path, "/") {
			c.errorf(key+".path", "%q must start with /", r.Path)
		}
	}
	if len(r.Ext) > 0 {
		matchers++
		for i, e := range r.Ext {
			r.Ext[i] = strings.ToLower(strings.TrimPrefix(e, "."))
			if r.Ext[i] == "" || strings.ContainsAny(r.Ext[i], "/.") {
				c.errorf(fmt.Sprintf("%s.ext[%d]", key, i+1), "%q is not a file extension (like \"css\")", e)
			}
		}
	}
	if r.Regex != "" {
		matchers++
		if len(r.Regex) > maxRegex {
			c.errorf(key+".regex", "longer than %d characters", maxRegex)
		} else if re, err := regexp.Compile("^(?:" + r.Regex + ")$"); err != nil {
			c.errorf(key+".regex", "%v", err)
		} else {
			r.Re = re
		}
	}
	if matchers > 1 {
		c.errorf(key, "a route matches by one of path, ext or regex, not several (use several routes)")
	}
}

func (r *Route) checkStatic(c *checker, cfg *Config, key string) {
	if r.Root == "" {
		for _, k := range []string{"index", "browse", "cache_control"} {
			if c.has(key + "." + k) {
				c.errorf(key+"."+k, "%s goes with root", k)
			}
		}
		return
	}
	r.Root = cfg.Path(r.Root)
	if st, err := os.Stat(r.Root); err != nil {
		c.errorf(key+".root", "%v", unwrapPath(err))
	} else if !st.IsDir() {
		c.errorf(key+".root", "%s is not a directory", r.Root)
	}
	if !c.has(key + ".index") {
		r.Index = []string{"index.html"}
	}
	for i, ix := range r.Index {
		if ix == "" || strings.ContainsAny(ix, "/\x00") || ix[0] == '.' {
			c.errorf(fmt.Sprintf("%s.index[%d]", key, i+1), "%q must be a plain file name", ix)
		}
	}
}

func (r *Route) checkProxy(c *checker, cfg *Config, key string) {
	pk := key + ".proxy"
	for _, k := range []string{"proxy_host", "proxy_ca", "dial_timeout", "response_timeout", "idle_timeout", "fail_duration"} {
		if r.Proxy == nil && c.has(key+"."+k) {
			c.errorf(key+"."+k, "%s goes with proxy", k)
		}
	}
	if r.Proxy == nil {
		return
	}
	var list []string
	switch p := r.Proxy.(type) {
	case string:
		list = []string{p}
	case []any:
		for _, v := range p {
			s, ok := v.(string)
			if !ok {
				c.errorf(pk, "must be an upstream URL or a list of them, like \"http://127.0.0.1:8080\"")
				return
			}
			list = append(list, s)
		}
	default:
		c.errorf(pk, "must be an upstream URL or a list of them, like \"http://127.0.0.1:8080\"")
		return
	}
	if len(list) == 0 || len(list) > maxUpstreams {
		c.errorf(pk, "must list 1 to %d upstreams", maxUpstreams)
	}
	for _, s := range list {
		u := c.httpURL(pk, s)
		if u == nil {
			continue
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			c.errorf(pk, "%q: give only scheme, host and port (the request's path is passed as is)", s)
			continue
		}
		r.Upstreams = append(r.Upstreams, u)
	}
	if r.ProxyHost == "" {
		r.ProxyHost = "pass"
	}
	c.oneOf(key+".proxy_host", r.ProxyHost, "pass", "rewrite")
	if r.ProxyCA != "" {
		r.ProxyCA = cfg.Path(r.ProxyCA)
		c.caPath(key+".proxy_ca", r.ProxyCA)
	}
	c.duration(key+".dial_timeout", r.DialTimeout)
	c.duration(key+".response_timeout", r.ResponseTimeout)
	c.duration(key+".idle_timeout", r.IdleTimeout)
	c.duration(key+".fail_duration", r.FailDuration)
}
