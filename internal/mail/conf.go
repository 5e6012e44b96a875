package mail

import (
	"net/netip"

	"bartleby/internal/certs"
	"bartleby/internal/config"
	"bartleby/internal/mail/aliases"
	"bartleby/internal/mail/deliver"
	"bartleby/internal/part"
)

// conf is one version of [mail], checked and compiled: what a reload
// swaps. An SMTP session keeps the conf it started with to its end.
type conf struct {
	file      string // the config file, for sendmail's settings
	cfg       *config.Mail
	hostname  string
	aliases   *aliases.File
	certs     *certs.Manager
	smarthost *deliver.Target // nil without [mail.smarthost]
	primary   deliver.Target  // to the primary MX, its address left out
	// submitFrom are the clients of a backup MX port that relay through
	// the smarthost (mail.submit_from, Postfix's mynetworks).
	submitFrom []netip.Prefix
}

// newConf checks and compiles env's [mail].
func newConf(env *part.Env) (*conf, error) {
	cfg := env.Config.Mail
	c := env.Config.Checker()
	set := compile(cfg, c)
	if err := c.Err(); err != nil {
		return nil, err
	}
	al, err := aliases.Open(cfg.Aliases)
	if err != nil {
		env.Log.Warn("aliases", "event", "mail.aliases_error", "error", err)
	}
	k := &conf{file: env.Config.File, cfg: cfg, hostname: env.Config.Hostname, aliases: al, certs: env.Certs, submitFrom: set.submitFrom}
	if sh := cfg.Smarthost; sh != nil {
		if k.smarthost, err = smarthostTarget(sh, set.password, k.hostname); err != nil {
			return nil, err
		}
	}
	if b := cfg.BackupMX; b != nil {
		if k.primary, err = primaryTarget(b, k.hostname); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func (k *conf) maxSize() int64 { return k.cfg.MaxSize.Bytes }

// submits reports whether a client of a backup MX port is local
// submission: listed in submit_from, with a smarthost to relay to.
func (k *conf) submits(client netip.Addr) bool {
	if k.smarthost == nil {
		return false
	}
	for _, p := range k.submitFrom {
		if p.Contains(client) {
			return true
		}
	}
	return false
}
