package control

import "time"

// Status is the answer to the "status" command.
type Status struct {
	Version string       `json:"version"`
	PID     int          `json:"pid"`
	Config  string       `json:"config"`
	Started time.Time    `json:"started"`
	Reload  time.Time    `json:"last_reload,omitzero"`
	Parts   []PartStatus `json:"parts"`
	// Notices are the parts' warnings, as on the admin home page
	// ("mail: 1 message(s) from the maildrop set aside …").
	Notices []string `json:"notices,omitempty"`
}

// PartStatus is one running part.
type PartStatus struct {
	Name  string    `json:"name"`
	Addrs []string  `json:"addrs"`
	Since time.Time `json:"since"`
	State string    `json:"state"`           // running, or failing: a listener stopped for good
	Error string    `json:"error,omitempty"` // why it is failing
}
