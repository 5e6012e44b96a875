package mail

import (
	"bartleby/internal/certs"
	"bartleby/internal/config"
	"bartleby/internal/mail/aliases"
	"bartleby/internal/mail/deliver"
	"bartleby/internal/part"
)

// conf is one version of [mail], checked and compiled: what a reload
// swaps. An SMTP session keeps the conf it started with to its end.
type conf struct {
	cfg       *config.Mail
	hostname  string
	aliases   *aliases.File
	certs     *certs.Manager
	smarthost *deliver.Target // nil without [mail.smarthost]
	primary   deliver.Target  // to the primary MX, its address left out
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
		env.Log.Warn("aliases", "error", err)
	}
	k := &conf{cfg: cfg, hostname: env.Config.Hostname, aliases: al, certs: env.Certs}
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
