package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Watch runs behaviour scenarios (Gherkin feature files) against the
// production site, checks the clock and may answer NTP.
type Watch struct {
	// Features is a .feature file or a directory of them.
	Features string   `toml:"features"`
	Every    Duration `toml:"every"`
	Jitter   Duration `toml:"jitter"`  // default every/10
	Retry    Duration `toml:"retry"`   // pause before the confirming re-run
	Timeout  Duration `toml:"timeout"` // per step
	// Base is the URL relative `I go to` steps resolve against.
	Base string `toml:"base"`
	// CA is a PEM file or directory of the CAs trusted instead of the
	// system's, for sites with a private or self-signed certificate.
	CA string `toml:"ca"`
	// History is how many runs per scenario are kept in state_dir.
	History int `toml:"history"`

	Clock     *Clock     `toml:"clock"`
	NTPServer *NTPServer `toml:"ntp_server"`
}

// Clock is the periodic clock-offset check against NTP servers.
type Clock struct {
	Servers []string `toml:"servers"`
	Warn    Duration `toml:"warn"`
	Crit    Duration `toml:"crit"`
	Every   Duration `toml:"every"`
}

// NTPServer answers NTP clients with the host clock while it is
// synchronised.
type NTPServer struct {
	Listen []string `toml:"listen"`
	// Stratum of the host's own upstream when [watch.clock] has no answer
	// to tell it; bartleby answers with Stratum+1.
	Stratum int     `toml:"stratum"`
	Rate    float64 `toml:"rate"`    // queries per second per client
	Burst   int     `toml:"burst"`   //
	Clients int     `toml:"clients"` // clients tracked at once
	Leak    int     `toml:"leak"`    // answer 1 in Leak queries over the rate
}

func (w *Watch) check(c *Checker) {
	if w.Features == "" && w.Clock == nil && w.NTPServer == nil {
		c.Errorf("watch.features", "set features (a .feature file or a directory), [watch.clock] or [watch.ntp_server]")
	}
	w.Features = c.Path(w.Features)
	every := c.duration("watch.every", w.Every)
	jitter := c.duration("watch.jitter", w.Jitter)
	c.duration("watch.retry", w.Retry)
	c.duration("watch.timeout", w.Timeout)
	if every && w.Every.Duration < 10*time.Second {
		c.Errorf("watch.every", "must be at least 10s, got %s", w.Every.Duration)
	}
	if every && jitter && c.Has("watch.jitter") && w.Jitter.Duration >= w.Every.Duration {
		c.Errorf("watch.jitter", "must be shorter than every (%s)", w.Every.Duration)
	}
	if w.Base != "" {
		c.HTTPURL("watch.base", w.Base)
	}
	w.CA = c.Path(w.CA)
	if w.History < 1 || w.History > 100000 {
		c.Errorf("watch.history", "must be from 1 to 100000, got %d", w.History)
	}
	if w.Clock != nil {
		w.Clock.check(c)
	}
	if w.NTPServer != nil {
		w.NTPServer.check(c)
	}
}

func (k *Clock) check(c *Checker) {
	if len(k.Servers) == 0 {
		c.Errorf("watch.clock.servers", "list at least one NTP server (like \"pool.ntp.org\"); remove [watch.clock] to turn the check off")
	}
	if len(k.Servers) > 16 {
		c.Errorf("watch.clock.servers", "at most 16 servers, got %d", len(k.Servers))
	}
	warn, crit := c.duration("watch.clock.warn", k.Warn), c.duration("watch.clock.crit", k.Crit)
	if warn && crit && k.Warn.Duration > k.Crit.Duration {
		c.Errorf("watch.clock.warn", "warn (%s) is above crit (%s)", k.Warn.Duration, k.Crit.Duration)
	}
	if c.duration("watch.clock.every", k.Every) && k.Every.Duration < time.Minute {
		c.Errorf("watch.clock.every", "must be at least 1m (public servers rate-limit), got %s", k.Every.Duration)
	}
}

func (n *NTPServer) check(c *Checker) {
	if len(n.Listen) == 0 {
		c.Errorf("watch.ntp_server.listen", "give at least one address (like \"127.0.0.1:12300\" or \":123\")")
	}
	for i, a := range n.Listen {
		udpListen(c, fmt.Sprintf("watch.ntp_server.listen[%d]", i+1), a)
	}
	if n.Stratum < 1 || n.Stratum > 14 {
		c.Errorf("watch.ntp_server.stratum", "must be from 1 to 14, got %d", n.Stratum)
	}
	if n.Rate < 0 || n.Rate > 1000 {
		c.Errorf("watch.ntp_server.rate", "must be from 0 to 1000 queries per second, got %g", n.Rate)
	}
	c.count("watch.ntp_server.burst", n.Burst, 1000)
	c.count("watch.ntp_server.clients", n.Clients, 10000000)
	c.count("watch.ntp_server.leak", n.Leak, 1000000)
}

// udpListen checks a UDP listen address. UDP ports do not clash with the
// TCP listeners the checker tracks, so it is not claimed.
func udpListen(c *Checker, key, addr string) {
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	_, herr := netip.ParseAddr(host)
	if err != nil || perr != nil || n < 1 || n > 65535 || (host != "" && herr != nil) {
		c.Errorf(key, "%q is not a listen address (like \"127.0.0.1:12300\" or \":123\")", addr)
	}
}
