package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Mail is the mail relay ("leaf node": loopback submission, aliases, all
// mail to a smarthost over verified TLS) and the backup MX.
type Mail struct {
	QualifyDomain string   `toml:"qualify_domain"` // completes bare local parts; default hostname
	Aliases       string   `toml:"aliases"`        // /etc/aliases format; none when empty
	Submit        []string `toml:"submit"`         // loopback SMTP submission, no AUTH
	SubmitFrom    []string `toml:"submit_from"`    // clients of the backup MX listener that may relay (Postfix's mynetworks); default loopback
	Maildrop      string   `toml:"maildrop"`       // where `sendmail` drops mail when the daemon is down
	MaxSize       Size     `toml:"max_size"`       // largest message accepted
	RetryEvery    Duration `toml:"retry_every"`    // longest wait between attempts
	GiveUpAfter   Duration `toml:"give_up_after"`  // bounce after this long in the queue

	Smarthost *Smarthost `toml:"smarthost"`
	BackupMX  *BackupMX  `toml:"backup_mx"`
}

// Smarthost is where the relay sends all mail: always over verified TLS.
type Smarthost struct {
	Host          string   `toml:"host"`            // host:port
	TLS           string   `toml:"tls"`             // starttls | implicit
	CA            string   `toml:"ca"`              // PEM file or directory; system roots when empty
	TLSServerName string   `toml:"tls_server_name"` // name checked in the certificate; default the host
	Username      string   `toml:"username"`
	PasswordFile  string   `toml:"password_file"`
	Timeout       Duration `toml:"timeout"`     // per SMTP phase
	Connections   int      `toml:"connections"` // parallel connections
}

// BackupMX spools mail for domains whose primary MX is down.
type BackupMX struct {
	Listen         []string `toml:"listen"`
	Domains        []string `toml:"domains"` // "example.org"; ".example.org" adds its subdomains
	Recipients     []string `toml:"recipients"`
	Primary        string   `toml:"primary"`     // host:port or "mx"
	PrimaryTLS     string   `toml:"primary_tls"` // opportunistic | required
	CA             string   `toml:"ca"`          // for primary_tls = required; system roots when empty
	RetryEvery     Duration `toml:"retry_every"` // default mail.retry_every
	GiveUpAfter    Duration `toml:"give_up_after"`
	ProbeEvery     Duration `toml:"probe_every"`
	MaxRecipients  int      `toml:"max_recipients"`
	MaxConnections int      `toml:"max_connections"`
	MaxPerIP       int      `toml:"max_per_ip"`
	GreetPause     Duration `toml:"greet_pause"` // silence asked of a client before the greeting; "0s" off
	Cert           string   `toml:"cert"`        // self-signed (or ACME through [acme]) when absent
	Key            string   `toml:"key"`
}

func (m *Mail) check(c *Checker) {
	m.Maildrop = c.Path(m.Maildrop)
	c.size("mail.max_size", m.MaxSize)
	c.duration("mail.retry_every", m.RetryEvery)
	c.duration("mail.give_up_after", m.GiveUpAfter)
	m.checkSubmit(c)
	m.Aliases = c.Path(m.Aliases)
	if m.Smarthost != nil {
		m.Smarthost.check(c)
	}
	if m.BackupMX != nil {
		m.BackupMX.check(c)
	}
}

func (m *Mail) checkSubmit(c *Checker) {
	c.prefixes("mail.submit_from", m.SubmitFrom)
	for i, s := range m.SubmitFrom {
		if p, err := ParsePrefix(s); err == nil && p.Bits() == 0 {
			c.Errorf(fmt.Sprintf("mail.submit_from[%d]", i+1), "%q lets every address relay: an open relay", s)
		}
	}
	if len(m.Submit) > 0 && m.Smarthost == nil {
		c.Errorf("mail.submit", "submission needs [mail.smarthost]: bartleby delivers nothing locally")
	}
	for i, a := range m.Submit {
		key := fmt.Sprintf("mail.submit[%d]", i+1)
		if !IsLoopback(a) {
			c.Errorf(key, "%q is not a loopback address: submission has no authentication, so it listens only on 127.0.0.1 or [::1] (use [mail.backup_mx] to receive mail from outside)", a)
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

func (s *Smarthost) check(c *Checker) {
	if s.Host == "" {
		c.Errorf("mail.smarthost.host", "missing: the smarthost as host:port, like \"smtp.example.net:587\"")
	} else {
		c.hostPort("mail.smarthost.host", s.Host, "")
	}
	c.oneOf("mail.smarthost.tls", s.TLS, "starttls", "implicit")
	s.CA = c.Path(s.CA)
	s.PasswordFile = c.Path(s.PasswordFile)
	if (s.Username == "") != (s.PasswordFile == "") {
		c.Errorf("mail.smarthost", "give both username and password_file, or neither")
	}
	c.duration("mail.smarthost.timeout", s.Timeout)
	if s.Connections < 1 || s.Connections > 32 {
		c.Errorf("mail.smarthost.connections", "must be from 1 to 32, got %d", s.Connections)
	}
}

// hostPort checks a "host:port" value; alt names another accepted form.
func (c *Checker) hostPort(key, v, alt string) {
	_, port, err := net.SplitHostPort(v)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 {
		c.Errorf(key, "%q: want host:port%s, like \"smtp.example.net:587\"", v, alt)
	}
}

func (b *BackupMX) check(c *Checker) {
	if len(b.Listen) == 0 {
		c.Errorf("mail.backup_mx.listen", "missing: where to receive mail, like [\":25\"]")
	}
	for i, a := range b.Listen {
		c.listen(fmt.Sprintf("mail.backup_mx.listen[%d]", i+1), a)
	}
	if len(b.Domains) == 0 {
		c.Errorf("mail.backup_mx.domains", "missing: the domains this host is a backup MX for (anything else is refused: no open relay)")
	}
	for i, d := range b.Domains {
		if d == "" || strings.ContainsAny(d, " @:/*") || strings.HasSuffix(d, ".") || strings.Count(strings.TrimPrefix(d, "."), ".") < 1 {
			c.Errorf(fmt.Sprintf("mail.backup_mx.domains[%d]", i+1), "%q is not a domain (like \"example.org\", or \".example.org\" for its subdomains)", d)
		}
	}
	switch {
	case b.Primary == "":
		c.Errorf("mail.backup_mx.primary", "missing: the primary MX as host:port, or \"mx\" to use the domains' MX records")
	case b.Primary != "mx":
		c.hostPort("mail.backup_mx.primary", b.Primary, ` or "mx"`)
	}
	c.oneOf("mail.backup_mx.primary_tls", b.PrimaryTLS, "opportunistic", "required")
	b.CA = c.Path(b.CA)
	c.duration("mail.backup_mx.retry_every", b.RetryEvery)
	c.duration("mail.backup_mx.give_up_after", b.GiveUpAfter)
	c.duration("mail.backup_mx.probe_every", b.ProbeEvery)
	c.duration("mail.backup_mx.greet_pause", b.GreetPause)
	if len(b.Recipients) == 0 {
		c.Warnf("mail.backup_mx", "no recipients list: mail for any address in the domains is accepted and, if the primary refuses it, bounced to a possibly forged sender (backscatter); list the valid addresses in recipients")
	}
	for _, n := range []struct {
		key string
		v   int
	}{{"max_recipients", b.MaxRecipients}, {"max_connections", b.MaxConnections}, {"max_per_ip", b.MaxPerIP}} {
		if n.v < 1 {
			c.Errorf("mail.backup_mx."+n.key, "must be positive, got %d", n.v)
		}
	}
	b.Cert, b.Key = c.Path(b.Cert), c.Path(b.Key)
	c.certPair("mail.backup_mx", b.Cert, b.Key)
}
