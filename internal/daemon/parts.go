package daemon

import (
	"bartleby/internal/admin"
	"bartleby/internal/certs"
	"bartleby/internal/config"
	"bartleby/internal/fleet"
	"bartleby/internal/mail"
	"bartleby/internal/part"
	"bartleby/internal/sshd"
	"bartleby/internal/watch"
	"bartleby/internal/web"
)

// builders lists every part but the admin UI, which is built last because
// it shows the others. Each returns nil when its config section is absent.
var builders = []struct {
	name  string
	build part.Builder
}{
	{"web", web.New},
	{"mail", mail.New},
	{"ssh", sshd.New},
	{"watch", watch.New},
}

// checks are the parts' own checks of their sections (files, keys,
// templates, regular expressions), run on top of config's syntax checks.
var checks = []config.Check{
	checkStateDir, checkUser, certs.Check, admin.Check, web.Check, mail.Check, sshd.Check, watch.Check, fleet.Check,
}

// Load reads the config at path and checks it whole, as `bartleby check`,
// start and reload do: config's syntax checks, then every part's checks,
// without starting anything. Warnings are in the config's Warnings.
func Load(path string) (*config.Config, error) {
	return config.Load(path, checks...)
}
