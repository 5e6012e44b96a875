// Package web is the web front: sites, static files, reverse proxy and HTTPS everywhere.
package web

import "bartleby/internal/part"

// New builds the web part, or returns nil when its section is absent.
func New(env *part.Env) (part.Part, error) {
	return nil, nil
}
