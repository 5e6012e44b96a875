// Package admin is the admin web UI's listener: the access rules every admin
// page shares (IP allowlist, optional login, CSRF on state changes), the home
// page listing the parts, and /metrics.
package admin

import (
	"github.com/prometheus/client_golang/prometheus"

	"bartleby/internal/control"
	"bartleby/internal/part"
)

// Deps is what the daemon hands the admin UI besides the Env: the other
// parts' pages, their status and their metrics.
type Deps struct {
	Pages   []part.AdminPage
	Status  func() control.Status
	Metrics prometheus.Gatherer
}

// New builds the admin UI, or returns nil when [admin] is absent.
func New(env *part.Env, deps Deps) (part.Part, error) {
	if env.Config.Admin == nil {
		return nil, nil
	}
	return nil, nil
}
