package daemon

import (
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
