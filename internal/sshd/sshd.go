// Package sshd is the jailed SFTP and rsync server.
package sshd

import "bartleby/internal/part"

// New builds the ssh part, or returns nil when its section is absent.
func New(env *part.Env) (part.Part, error) {
	return nil, nil
}
