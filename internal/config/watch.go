package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"
)

// Watch runs behaviour scenarios (Gherkin feature files) against the
// production site, checks the clock and may answer NTP.
type Watch struct {
	// Features is a .feature file or a directory of them.
	Features string   `toml:"features"`
	Every    Duration `toml:"every"`   // default 5m
	Jitter   Duration `toml:"jitter"`  // default every/10
	Retry    Duration `toml:"retry"`   // pause before the confirming re-run, default 30s
	Timeout  Duration `toml:"timeout"` // per step, default 30s
	// Base is the URL relative `I go to` steps resolve against.
	Base string `toml:"base"`
	// CA is a PEM file or directory of the CAs trusted instead of the
	// system's, for sites with a private or self-signed certificate.
	CA string `toml:"ca"`
	// History is how many runs per scenario are kept in state_dir.
	History int `toml:"history"` // default 288

	Clock     *Clock     `toml:"clock"`
	NTPServer *NTPServer `toml:"ntp_server"`
}

// Clock is the periodic clock-offset check against NTP servers.
type Clock struct {
	Servers []string `toml:"servers"`
	Warn    Duration `toml:"warn"`  // default 100ms
	Crit    Duration `toml:"crit"`  // default 1s
	Every   Duration `toml:"every"` // default 15m
}

// NTPServer answers NTP clients with the host clock while it is
// synchronised.
type NTPServer struct {
	Listen []string `toml:"listen"`
	// Stratum of the host's own upstream when [watch.clock] has no answer
	// to tell it; bartleby answers with Stratum+1. Default 2.
	Stratum int     `toml:"stratum"`
	Rate    float64 `toml:"rate"`    // queries per second per client, default 1
	Burst   int     `toml:"burst"`   // default 8
	Clients int     `toml:"clients"` // clients tracked at once, default 10000
	Leak    int     `toml:"leak"`    // answer 1 in Leak queries over the rate, default 16
}

// Watch defaults, applied by check.
const (
	DefaultWatchEvery   = 5 * time.Minute
	DefaultWatchRetry   = 30 * time.Second
	DefaultWatchTimeout = 30 * time.Second
	DefaultWatchHistory = 288
	DefaultClockWarn    = 100 * time.Millisecond
	DefaultClockCrit    = time.Second
	DefaultClockEvery   = 15 * time.Minute
)

func (w *Watch) check(c *checker, cfg *Config) {
	if w.Features == "" && w.Clock == nil && w.NTPServer == nil {
		c.errorf("watch.features", "set features (a .feature file or a directory), [watch.clock] or [watch.ntp_server]")
	}
	if w.Features != "" {
		w.Features = cfg.Path(w.Features)
		if _, err := os.Stat(w.Features); err != nil {
			c.errorf("watch.features", "cannot read %s: %v", w.Features, unwrapPath(err))
		}
	}
	for _, k := range []struct {
		key string
		d   Duration
	}{{"watch.every", w.Every}, {"watch.jitter", w.Jitter}, {"watch.retry", w.Retry}, {"watch.timeout", w.Timeout}} {
		c.duration(k.key, k.d)
	}
	if w.Every.Set() && w.Every.Duration < 10*time.Second {
		c.errorf("watch.every", "must be at least 10s, got %s", w.Every.Duration)
	}
	if w.Jitter.Set() && w.Jitter.Duration >= w.Every.Or(DefaultWatchEvery) {
		c.errorf("watch.jitter", "must be shorter than every (%s)", w.Every.Or(DefaultWatchEvery))
	}
	if w.Base != "" {
		c.httpURL("watch.base", w.Base)
	}
	if w.CA != "" {
		w.CA = cfg.Path(w.CA)
		if _, err := os.Stat(w.CA); errors.Is(err, os.ErrNotExist) {
			// The quickstart's self-signed certificate is made on first
			// start, after this check.
			c.warnf("watch.ca", "%s does not exist (yet); HTTPS steps fail until it does", w.CA)
		} else {
			c.caPath("watch.ca", w.CA)
		}
	}
	if w.History < 0 || w.History > 100000 {
		c.errorf("watch.history", "must be from 1 to 100000, got %d", w.History)
	}
	if w.History == 0 {
		w.History = DefaultWatchHistory
	}
	if w.Clock != nil {
		w.Clock.check(c)
	}
	if w.NTPServer != nil {
		w.NTPServer.check(c)
	}
}

func (k *Clock) check(c *checker) {
	if len(k.Servers) == 0 {
		c.errorf("watch.clock.servers", "list at least one NTP server (like \"pool.ntp.org\"); remove [watch.clock] to turn the check off")
	}
	if len(k.Servers) > 16 {
		c.errorf("watch.clock.servers", "at most 16 servers, got %d", len(k.Servers))
	}
	c.duration("watch.clock.warn", k.Warn)
	c.duration("watch.clock.crit", k.Crit)
	c.duration("watch.clock.every", k.Every)
	if k.Warn.Or(DefaultClockWarn) > k.Crit.Or(DefaultClockCrit) {
		c.errorf("watch.clock.warn", "warn (%s) is above crit (%s)", k.Warn.Or(DefaultClockWarn), k.Crit.Or(DefaultClockCrit))
	}
	if k.Every.Set() && k.Every.Duration < time.Minute {
		c.errorf("watch.clock.every", "must be at least 1m (public servers rate-limit), got %s", k.Every.Duration)
	}
}

func (n *NTPServer) check(c *checker) {
	if len(n.Listen) == 0 {
		c.errorf("watch.ntp_server.listen", "give at least one address (like \"127.0.0.1:12300\" or \":123\")")
	}
	for i, a := range n.Listen {
		udpListen(c, fmt.Sprintf("watch.ntp_server.listen[%d]", i+1), a)
	}
	if n.Stratum == 0 {
		n.Stratum = 2
	}
	if n.Stratum < 1 || n.Stratum > 14 {
		c.errorf("watch.ntp_server.stratum", "must be from 1 to 14, got %d", n.Stratum)
	}
	if n.Rate == 0 {
		n.Rate = 1
	}
	if n.Rate < 0 || n.Rate > 1000 {
		c.errorf("watch.ntp_server.rate", "must be from 0 to 1000 queries per second, got %g", n.Rate)
	}
	watchCount(c, "watch.ntp_server.burst", &n.Burst, 8, 1000)
	watchCount(c, "watch.ntp_server.clients", &n.Clients, 10000, 10000000)
	watchCount(c, "watch.ntp_server.leak", &n.Leak, 16, 1000000)
}

// watchCount defaults a count to def when absent and checks it is in 1..max.
func watchCount(c *checker, key string, v *int, def, max int) {
	if *v == 0 {
		*v = def
	}
	if *v < 1 || *v > max {
		c.errorf(key, "must be from 1 to %d, got %d", max, *v)
	}
}

// udpListen checks a UDP listen address. UDP ports do not clash with the
// TCP listeners the checker tracks, so it is not claimed.
func udpListen(c *checker, key, addr string) {
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	_, herr := netip.ParseAddr(host)
	if err != nil || perr != nil || n < 1 || n > 65535 || (host != "" && herr != nil) {
		c.errorf(key, "%q is not a listen address (like \"127.0.0.1:12300\" or \":123\")", addr)
	}
}
