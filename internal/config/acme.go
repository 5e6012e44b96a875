package config

// LetsEncrypt is the ACME directory used when none is configured.
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// ACME configures certificate issuance for every part that needs a public
// certificate (sites, the backup MX).
type ACME struct {
	Email     string `toml:"email"`
	Directory string `toml:"directory"` // ACME directory URL; Let's Encrypt by default
	// CARoot is a PEM file or directory trusted for talking to Directory,
	// for a private CA such as Pebble in tests.
	CARoot string `toml:"ca_root"`
}

func (a *ACME) check(c *checker, cfg *Config) {
	if a.Directory == "" {
		a.Directory = LetsEncrypt
	}
	c.httpURL("acme.directory", a.Directory)
	if a.CARoot != "" {
		a.CARoot = cfg.Path(a.CARoot)
		c.caPath("acme.ca_root", a.CARoot)
	}
}
