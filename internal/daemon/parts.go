package daemon

import (
	"bartleby/internal/part"
)

// builders lists every part but the admin UI, which is built last because
// it shows the others. Each returns nil when its config section is absent.
var builders = []struct {
	name  string
	build part.Builder
}{}
