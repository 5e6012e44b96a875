package maint

import (
	"context"
	"encoding/json"
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"time"

	"bartleby/internal/control"
)

// OnArgs are the arguments of "maint.on".
type OnArgs struct {
	Site    string    `json:"site"`
	Until   time.Time `json:"until,omitzero"`
	Message string    `json:"message,omitempty"`
	Who     string    `json:"who"`
}

// OffArgs are the arguments of "maint.off".
type OffArgs struct {
	Site string `json:"site"`
	Who  string `json:"who"`
}

// Commands are the control-socket commands: "maint.on", "maint.off" and
// "maint.status".
func (m *Manager) Commands() map[string]control.Handler {
	return map[string]control.Handler{
		"maint.on": func(ctx context.Context, raw json.RawMessage) (any, error) {
			var a OnArgs
			if err := decodeArgs(raw, &a); err != nil {
				return nil, err
			}
			if a.Site == "" {
				return nil, errNoSite
			}
			return m.On(Mode{Site: a.Site, Until: a.Until.UTC(), Message: a.Message, Who: who(ctx, a.Who)})
		},
		"maint.off": func(ctx context.Context, raw json.RawMessage) (any, error) {
			var a OffArgs
			if err := decodeArgs(raw, &a); err != nil {
				return nil, err
			}
			if a.Site == "" {
				return nil, errNoSite
			}
			if err := m.Off(a.Site, who(ctx, a.Who)); err != nil {
				return nil, err
			}
			return m.Status(), nil
		},
		"maint.status": func(ctx context.Context, _ json.RawMessage) (any, error) {
			return m.FleetStatus(ctx), nil
		},
	}
}

// decodeArgs decodes a command's arguments strictly.
func decodeArgs(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("bad arguments: %w", err)
	}
	return nil
}

// who names the operator for the admin UI and logs: the unix user the
// kernel reports at the other end of the control socket, plus what the CLI
// says of the user behind sudo (a claim only root can make, since only the
// daemon's user and root reach the socket). Bounded: it is shown as is.
func who(ctx context.Context, sudoUser string) string {
	name := "unknown"
	if p, ok := control.PeerFrom(ctx); ok {
		name = userName(p.UID)
	}
	if sudoUser != "" {
		name += " (sudo by " + sudoUser + ")"
	}
	if len(name) > 96 {
		name = name[:96]
	}
	return strings.ToValidUTF8(name, "?")
}

// userName is the login name of uid, or "uid N" when it has none.
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return "uid " + strconv.Itoa(uid)
}
