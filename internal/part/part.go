// Package part defines what the daemon asks of each service it runs (the
// web front, the mail relay, the SSH jail, the watcher, the admin UI) and
// what it hands them. Parts never reach into each other: they see the config,
// the certificate manager and the metrics registry, nothing else.
package part

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"bartleby/internal/certs"
	"bartleby/internal/config"
	"bartleby/internal/control"
	"bartleby/internal/fleet"
)

// Env is what the daemon hands every part when building it.
type Env struct {
	Config  *config.Config
	Log     *slog.Logger
	Certs   *certs.Manager
	Metrics prometheus.Registerer
	// Fleet is the link to the other nodes; nil without [fleet].
	Fleet *fleet.Fleet
	// OnFail is how the daemon learns that a listener of the part stopped
	// for good; parts call Fail.
	OnFail func(err error)
}

// Fail marks the part failing: a listener stopped and cannot come back
// without a restart. The daemon logs it at ERROR and shows it in `status`,
// the admin UI and the bartleby_part_failing metric.
func (e *Env) Fail(err error) {
	if e.OnFail != nil {
		e.OnFail(err)
		return
	}
	e.Log.Error("part failing", "error", err)
}

// Part is one running service.
type Part interface {
	// Name is the part's short name ("web", "mail", "ssh", "watch", "admin").
	Name() string
	// Start binds every listener and returns; serving goes on in the
	// background. An address that cannot be bound is an error naming it.
	Start() error
	// Addrs lists what the part serves on, for `bartleby status`.
	Addrs() []string
	// Shutdown stops accepting work and drains what is in flight until ctx
	// is done.
	Shutdown(ctx context.Context) error
}

// Builder makes a part from the config, or returns nil when its section is
// absent.
type Builder func(env *Env) (Part, error)

// Reloader is a part that takes a new config in place, without dropping
// connections. Parts that are not Reloaders are restarted on reload when
// their config changed.
type Reloader interface {
	Reload(env *Env) error
}

// Commander is a part that answers control-socket commands (`bartleby maint
// on`, `bartleby mail queue`, …).
type Commander interface {
	Commands() map[string]control.Handler
}

// LogReopener is a part that writes log files of its own and reopens them
// on SIGUSR1, after logrotate moved them.
type LogReopener interface {
	ReopenLogs() error
}

// AdminPage is a page a part adds to the admin UI. Its handler runs behind
// the admin access rules (allowlist, login, CSRF on POST).
type AdminPage struct {
	Path    string // under the admin root, e.g. "/queue"
	Title   string // shown in the navigation
	Handler http.Handler
}

// AdminPager is a part that contributes admin pages.
type AdminPager interface {
	AdminPages() []AdminPage
}

// Notice is a warning a part wants an operator to see on the admin home
// page, such as a clock that has drifted.
type Notice struct {
	Part string
	Text string
}

// Noticer is a part with warnings to show on the admin home page.
type Noticer interface {
	Notices() []Notice
}

// Level is how a part is doing, from good to bad.
type Level int

// The levels of a Card, in order of concern.
const (
	OK Level = iota
	Warning
	Failing
)

// String is the level in words, so that a colour is never the only sign.
func (l Level) String() string {
	return [...]string{"OK", "warning", "failing"}[l]
}

// Fact is one number that matters on a Card ("queue", "12 messages").
type Fact struct {
	Label, Value string
	Level        Level // colours the value; the card's level is the worst
}

// Card is a part's health at a glance for the admin home page.
type Card struct {
	Title string // "Mail"
	Link  string // the admin page with the details, or ""
	Level Level
	Facts []Fact
	// Problems name what is wrong ("scenario login failed: …").
	Problems []string
}

// Summarizer is a part that shows its health on the admin home page: one
// card per area it looks after (the watcher has the scenarios and the
// clock).
type Summarizer interface {
	Summary() []Card
}
