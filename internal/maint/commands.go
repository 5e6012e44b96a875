package maint

import (
	"context"
	"encoding/json"
	"fmt"
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
		"maint.on": func(_ context.Context, raw json.RawMessage) (any, error) {
			var a OnArgs
			if err := decodeArgs(raw, &a); err != nil {
				return nil, err
			}
			if a.Site == "" {
				return nil, errNoSite
			}
			return m.On(Mode{Site: a.Site, Until: a.Until.UTC(), Message: a.Message, Who: who(a.Who)})
		},
		"maint.off": func(_ context.Context, raw json.RawMessage) (any, error) {
			var a OffArgs
			if err := decodeArgs(raw, &a); err != nil {
				return nil, err
			}
			if a.Site == "" {
				return nil, errNoSite
			}
			if err := m.Off(a.Site, who(a.Who)); err != nil {
				return nil, err
			}
			return m.Status(), nil
		},
		"maint.status": func(context.Context, json.RawMessage) (any, error) {
			return m.Status(), nil
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

// who names the operator, bounded: it is shown in the admin UI and logs.
func who(s string) string {
	if s == "" {
		return "unknown"
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.ToValidUTF8(s, "?")
}
