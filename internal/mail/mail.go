// Package mail is the mail relay and backup MX.
package mail

import "bartleby/internal/part"

// New builds the mail part, or returns nil when its section is absent.
func New(env *part.Env) (part.Part, error) {
	return nil, nil
}
