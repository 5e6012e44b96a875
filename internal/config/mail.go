package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"bartleby/internal/mail/aliases"
)

// Mail is the mail relay ("leaf node": loopback submission, aliases, all
// mail to a smarthost over verified TLS) and the backup MX.
type Mail struct {
	QualifyDomain string   `toml:"qualify_domain"` // completes bare local parts; default hostname
	Aliases       string   `toml:"aliases"`        // /etc/aliases format; none when empty
	Submit        []string `toml:"submit"`         // loopback SMTP submission, no AUTH
	SubmitFrom    []string `toml:"submit_from"`    // clients of the backup MX listener that may relay (Postfix's mynetworks); default loopback
	Maildrop      string   `toml:"maildrop"`       // where `sendmail` drops mail when the daemon is down
	MaxSize       Size     `toml:"max_size"`       // largest message accepted; default 25MB
	RetryEvery    Duration `toml:"retry_every"`    // longest wait between attempts; default 30m
	GiveUpAfter   Duration `toml:"give_up_after"`  // bounce after this long in the queue; default 5d

	Smarthost *Smarthost `toml:"smarthost"`
	BackupMX  *BackupMX  `toml:"backup_mx"`
}

// Smarthost is where the relay sends all mail: always over verified TLS.
type Smarthost struct {
	Host          string   `toml:"host"`            // host:port
	TLS           string   `toml:"tls"`             // starttls (default) | implicit
	CA            string   `toml:"ca"`              // PEM file or directory; system roots when empty
	TLSServerName string   `toml:"tls_server_name"` // name checked in the certificate; default the host
	Username      string   `toml:"username"`
	PasswordFile  string   `toml:"password_file"`
	Timeout       Duration `toml:"timeout"`     // per SMTP phase; default 2m
	Connections   int      `toml:"connections"` // parallel connections; default 2

	Password string `toml:"-"` // read from PasswordFile
}

// BackupMX spools mail for domains whose primary MX is down.
type BackupMX struct {
	Listen         []string `toml:"listen"`
	Domains        []string `toml:"domains"` // "example.org"; ".example.org" adds its subdomains
	Recipients     []string `toml:"recipients"`
	Primary        string   `toml:"primary"`     // host:port or "mx"
	PrimaryTLS     string   `toml:"primary_tls"` // opportunistic (default) | required
	CA             string   `toml:"ca"`          // for primary_tls = required; system roots when empty
	RetryEvery     Duration `toml:"retry_every"`
	GiveUpAfter    Duration `toml:"give_up_after"`
	ProbeEvery     Duration `toml:"probe_every"` // default 1m
	MaxRecipients  int      `toml:"max_recipients"`
	MaxConnections int      `toml:"max_connections"`
	MaxPerIP       int      `toml:"max_per_ip"`
	GreetPause     Duration `toml:"greet_pause"` // silence asked of a client before the greeting; default 300ms, "0s" off
	Cert           string   `toml:"cert"`        // self-signed (or ACME through [acme]) when absent
	Key            string   `toml:"key"`
}

// Mail defaults.
const (
	DefaultMailMaxSize      = 25 * 1000 * 1000
	DefaultMailRetryEvery   = 30 * time.Minute
	DefaultMailGiveUpAfter  = 5 * 24 * time.Hour
	DefaultSmarthostTimeout = 2 * time.Minute
	DefaultMXProbeEvery     = time.Minute
	DefaultMXMaxRecipients  = 100
	DefaultMXMaxConnections = 100
	DefaultMXMaxPerIP       = 10
	DefaultMXGreetPause     = 300 * time.Millisecond
)

func (m *Mail) check(c *checker, cfg *Config) {
	if m.QualifyDomain == "" {
		m.QualifyDomain = cfg.Hostname
	}
	if m.Maildrop == "" {
		m.Maildrop = filepath.Join(cfg.StateDir, "maildrop")
	}
	m.Maildrop = cfg.Path(m.Maildrop)
	c.size("mail.max_size", m.MaxSize)
	c.duration("mail.retry_every", m.RetryEvery)
	c.duration("mail.give_up_after", m.GiveUpAfter)
	m.checkSubmit(c)
	if m.Aliases != "" {
		m.Aliases = cfg.Path(m.Aliases)
		m.checkAliases(c)
	}
	if m.Smarthost != nil {
		m.Smarthost.check(c, cfg)
	}
	if m.BackupMX != nil {
		m.BackupMX.check(c, cfg)
	}
}

// DefaultSubmitFrom is who may relay through the backup MX listener.
var DefaultSubmitFrom = []string{"127.0.0.0/8", "::1"}

func (m *Mail) checkSubmit(c *checker) {
	if m.Submit == nil && m.Smarthost != nil {
		m.Submit = []string{"127.0.0.1:25"}
	}
	if m.SubmitFrom == nil {
		m.SubmitFrom = DefaultSubmitFrom
	}
	for i, p := range c.prefixes("mail.submit_from", m.SubmitFrom) {
		if p.Bits() == 0 {
			c.errorf(fmt.Sprintf("mail.submit_from[%d]", i+1), "%q lets every address relay: an open relay", p)
		}
	}
	if len(m.Submit) > 0 && m.Smarthost == nil {
		c.errorf("mail.submit", "submission needs [mail.smarthost]: bartleby delivers nothing locally")
	}
	for i, a := range m.Submit {
		key := fmt.Sprintf("mail.submit[%d]", i+1)
		if !IsLoopback(a) {
			c.errorf(key, "%q is not a loopback address: submission has no authentication, so it listens only on 127.0.0.1 or [::1] (use [mail.backup_mx] to receive mail from outside)", a)
			continue
		}
		if !m.OnBackupMX(a) {
			c.listen(key, a)
		}
	}
}

// OnBackupMX reports whether a submission address is served by a backup
// MX listener (same port, on that address or the wildcard): one port 25
// for both, each client treated by its address (submit_from).
func (m *Mail) OnBackupMX(submit string) bool {
	if m.BackupMX == nil {
		return false
	}
	sh, sp, err := net.SplitHostPort(submit)
	if err != nil {
		return false
	}
	for _, l := range m.BackupMX.Listen {
		h, p, err := net.SplitHostPort(l)
		if err != nil || p != sp {
			continue
		}
		v4 := !strings.Contains(sh, ":")
		if h == sh || h == "" || h == "::" || (h == "0.0.0.0" && v4) {
			return true
		}
	}
	return false
}

func (m *Mail) checkAliases(c *checker) {
	f, err := os.Open(m.Aliases)
	if err != nil {
		c.errorf("mail.aliases", "cannot read %s: %v", m.Aliases, unwrapPath(err))
		return
	}
	defer f.Close()
	t, probs := aliases.Parse(f)
	probs = append(probs, t.Check(m.QualifyDomain)...)
	for _, p := range probs {
		c.errorf("mail.aliases", "%s:%d: %s", m.Aliases, p.Line, p.Msg)
	}
}

func (s *Smarthost) check(c *checker, cfg *Config) {
	if s.Host == "" {
		c.errorf("mail.smarthost.host", "missing: the smarthost as host:port, like \"smtp.example.net:587\"")
	} else {
		c.hostPort("mail.smarthost.host", s.Host, "")
	}
	if s.TLS == "" {
		s.TLS = "starttls"
	}
	c.oneOf("mail.smarthost.tls", s.TLS, "starttls", "implicit")
	if s.CA != "" {
		s.CA = cfg.Path(s.CA)
		c.caPath("mail.smarthost.ca", s.CA)
	}
	s.PasswordFile = cfg.Path(s.PasswordFile)
	s.Password = c.secret("mail.smarthost.password", "", "mail.smarthost.password_file", s.PasswordFile)
	if (s.Username == "") != (s.PasswordFile == "") {
		c.errorf("mail.smarthost", "give both username and password_file, or neither")
	}
	c.duration("mail.smarthost.timeout", s.Timeout)
	if s.Connections == 0 {
		s.Connections = 2
	}
	if s.Connections < 1 || s.Connections > 32 {
		c.errorf("mail.smarthost.connections", "must be from 1 to 32, got %d", s.Connections)
	}
}

// hostPort checks a "host:port" value; alt names another accepted form.
func (c *checker) hostPort(key, v, alt string) {
	_, port, err := net.SplitHostPort(v)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 {
		c.errorf(key, "%q: want host:port%s, like \"smtp.example.net:587\"", v, alt)
	}
}

func (b *BackupMX) check(c *checker, cfg *Config) {
	if len(b.Listen) == 0 {
		c.errorf("mail.backup_mx.listen", "missing: where to receive mail, like [\":25\"]")
	}
	for i, a := range b.Listen {
		c.listen(fmt.Sprintf("mail.backup_mx.listen[%d]", i+1), a)
	}
	if len(b.Domains) == 0 {
		c.errorf("mail.backup_mx.domains", "missing: the domains this host is a backup MX for (anything else is refused: no open relay)")
	}
	for i, d := range b.Domains {
		if d == "" || strings.ContainsAny(d, " @:/*") || strings.HasSuffix(d, ".") || strings.Count(strings.TrimPrefix(d, "."), ".") < 1 {
			c.errorf(fmt.Sprintf("mail.backup_mx.domains[%d]", i+1), "%q is not a domain (like \"example.org\", or \".example.org\" for its subdomains)", d)
		}
	}
	switch {
	case b.Primary == "":
		c.errorf("mail.backup_mx.primary", "missing: the primary MX as host:port, or \"mx\" to use the domains' MX records")
	case b.Primary != "mx":
		c.hostPort("mail.backup_mx.primary", b.Primary, ` or "mx"`)
	}
	if b.PrimaryTLS == "" {
		b.PrimaryTLS = "opportunistic"
	}
	c.oneOf("mail.backup_mx.primary_tls", b.PrimaryTLS, "opportunistic", "required")
	if b.CA != "" {
		b.CA = cfg.Path(b.CA)
		c.caPath("mail.backup_mx.ca", b.CA)
	}
	c.duration("mail.backup_mx.retry_every", b.RetryEvery)
	c.duration("mail.backup_mx.give_up_after", b.GiveUpAfter)
	c.duration("mail.backup_mx.probe_every", b.ProbeEvery)
	c.duration("mail.backup_mx.greet_pause", b.GreetPause)
	if len(b.Recipients) == 0 {
		c.warnf("mail.backup_mx", "no recipients list: mail for any address in the domains is accepted and, if the primary refuses it, bounced to a possibly forged sender (backscatter); list the valid addresses in recipients")
	}
	for i, r := range b.Recipients {
		if err := aliases.CheckAddress(r); err != nil || !strings.Contains(r, "@") {
			c.errorf(fmt.Sprintf("mail.backup_mx.recipients[%d]", i+1), "%q is not a full address (user@domain)", r)
		}
	}
	defInt(&b.MaxRecipients, DefaultMXMaxRecipients)
	defInt(&b.MaxConnections, DefaultMXMaxConnections)
	defInt(&b.MaxPerIP, DefaultMXMaxPerIP)
	b.Cert, b.Key = cfg.Path(b.Cert), cfg.Path(b.Key)
	c.certPair("mail.backup_mx", b.Cert, b.Key)
}

func defInt(p *int, def int) {
	if *p <= 0 {
		*p = def
	}
}
