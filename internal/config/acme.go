package config

import (
	"fmt"
	"strings"
)

// LetsEncrypt is the ACME directory used when none is configured.
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// The ACME challenges bartleby answers on its own listeners.
const (
	ChallengeHTTP01    = "http-01"     // on the web part's HTTP port (80)
	ChallengeTLSALPN01 = "tls-alpn-01" // on its HTTPS port (443)
)

// ACME configures certificate issuance for every part that needs a public
// certificate (sites, the backup MX).
type ACME struct {
	Email     string `toml:"email"`
	Directory string `toml:"directory"` // ACME directory URL
	// CARoot is a PEM file or directory trusted for talking to Directory,
	// for a private CA such as Pebble in tests.
	CARoot string `toml:"ca_root"`
	// Challenges the CA may use. Only http-01 behind a proxy that
	// terminates TLS, only tls-alpn-01 when port 80 is closed.
	Challenges []string `toml:"challenges"`
}

func (a *ACME) check(c *Checker) {
	c.HTTPURL("acme.directory", a.Directory)
	a.CARoot = c.Path(a.CARoot)
	if a.Email != "" && (strings.Count(a.Email, "@") != 1 || strings.ContainsAny(a.Email, " \t<>,")) {
		c.Errorf("acme.email", "%q is not an e-mail address (like \"ops@example.org\")", a.Email)
	}
	if len(a.Challenges) == 0 {
		c.Errorf("acme.challenges", "needs at least one of %s, %s", ChallengeHTTP01, ChallengeTLSALPN01)
	}
	for i, ch := range a.Challenges {
		if ch != ChallengeHTTP01 && ch != ChallengeTLSALPN01 {
			c.Errorf(fmt.Sprintf("acme.challenges[%d]", i+1), "must be %s or %s, got %q", ChallengeHTTP01, ChallengeTLSALPN01, ch)
		}
	}
}
