package config

import "fmt"

// Web is the shared HTTP and HTTPS listener pair every site is served on.
type Web struct {
	HTTP  string `toml:"http"`  // ":80" by default
	HTTPS string `toml:"https"` // ":443" by default
}

// Site is one web site, chosen by the request's Host.
type Site struct {
	Hosts     []string `toml:"hosts"`
	HTTPS     string   `toml:"https"` // always (default) | off
	ACMEEmail string   `toml:"acme_email"`
	Cert      string   `toml:"cert"`
	Key       string   `toml:"key"`

	Maintenance *Maintenance `toml:"maintenance"`
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
	for i, s := range cfg.Sites {
		s.check(c, cfg, fmt.Sprintf("site[%d]", i+1))
	}
}

func (s *Site) check(c *checker, cfg *Config, key string) {
	if len(s.Hosts) == 0 {
		c.errorf(key+".hosts", "a site needs at least one host name")
	}
	if s.HTTPS == "" {
		s.HTTPS = "always"
	}
	c.oneOf(key+".https", s.HTTPS, "always", "off")
	if s.HTTPS == "off" {
		c.warnf(key+".https", "site %v is served over plain HTTP only", s.Hosts)
	}
	s.Cert, s.Key = cfg.Path(s.Cert), cfg.Path(s.Key)
	c.certPair(key, s.Cert, s.Key)
	if s.Maintenance != nil {
		s.Maintenance.check(c, cfg, key+".maintenance")
	}
}
