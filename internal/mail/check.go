package mail

import (
	"fmt"
	"net/netip"
	"strings"

	"bartleby/internal/certs/capool"
	"bartleby/internal/config"
	"bartleby/internal/mail/aliases"
	"bartleby/internal/mail/smtpd"
)

// Check reports what is wrong with [mail] beyond its syntax: the files it
// names and the addresses it lists. It starts nothing.
func Check(cfg *config.Config, c *config.Checker) {
	if cfg.Mail != nil {
		compile(cfg.Mail, c)
	}
}

// settings is what [mail] names, read and checked.
type settings struct {
	password string // of the smarthost
	// submitFrom are the clients of a backup MX listener that relay
	// through the smarthost (mail.submit_from, Postfix's mynetworks).
	submitFrom []netip.Prefix
}

func compile(m *config.Mail, c *config.Checker) settings {
	s := settings{submitFrom: config.Prefixes(m.SubmitFrom)}
	if m.Aliases != "" {
		checkAliases(c, m.Aliases, m.QualifyDomain)
	}
	if sh := m.Smarthost; sh != nil {
		capool.Check(c, "mail.smarthost.ca", sh.CA)
		s.password = c.Secret("", "mail.smarthost.password_file", sh.PasswordFile)
	}
	if b := m.BackupMX; b != nil {
		capool.Check(c, "mail.backup_mx.ca", b.CA)
		for i, d := range b.Domains {
			// What the config's syntax check lets through must also be
			// a name the backup MX can match, or it would refuse the
			// domain's mail without a word.
			if _, ok := smtpd.DomainKey(strings.TrimPrefix(d, ".")); !ok && d != "" {
				c.Errorf(fmt.Sprintf("mail.backup_mx.domains[%d]", i+1), "%q is not a host name (letters, digits, hyphens; IDNs as IDNA allows them)", d)
			}
		}
		for i, r := range b.Recipients {
			key := fmt.Sprintf("mail.backup_mx.recipients[%d]", i+1)
			_, domain, _ := strings.Cut(r, "@")
			if _, ok := smtpd.DomainKey(domain); aliases.CheckAddress(r) != nil || !ok {
				c.Errorf(key, "%q is not a full address (user@domain)", r)
			} else if smtpd.SourceRouted(r) {
				c.Errorf(key, "%q has %% or ! in its local part: the backup MX refuses such addresses (sender-specified routing)", r)
			}
		}
		c.CertFiles("mail.backup_mx", b.Cert, b.Key)
	}
	return s
}

func checkAliases(c *config.Checker, path, qualify string) {
	f, err := config.OpenFile(path, config.MaxAliasesFile)
	if err != nil {
		c.Errorf("mail.aliases", "cannot read %s: %v", path, config.Reason(err))
		return
	}
	defer f.Close()
	t, probs := aliases.Parse(f)
	probs = append(probs, t.Check(qualify)...)
	for _, p := range probs {
		c.Errorf("mail.aliases", "%s:%d: %s", path, p.Line, p.Msg)
	}
}
