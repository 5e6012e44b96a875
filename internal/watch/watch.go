// Package watch is production behaviour scenarios and the clock check.
package watch

import "bartleby/internal/part"

// New builds the watch part, or returns nil when its section is absent.
func New(env *part.Env) (part.Part, error) {
	return nil, nil
}
