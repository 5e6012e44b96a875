package control

import "time"

// Status is the answer to the "status" command.
type Status struct {
	Version string    `json:"version"`
	PID     int       `json:"pid"`
	Config  string    `json:"config"`
	Started time.Time `json:"started"`
	Reload  time.Time `json:"last_reload,omitzero"`
	// ReloadTried and ReloadError are the last reload asked for, applied
	// or not, and what went wrong ("" when nothing did).
	ReloadTried time.Time    `json:"last_reload_tried,omitzero"`
	ReloadError string       `json:"last_reload_error,omitempty"`
	Parts       []PartStatus `json:"parts"`
	// Notices are the parts' warnings, as on the admin home page
	// ("mail: 1 message(s) from the maildrop set aside …").
	Notices []string `json:"notices,omitempty"`
}

// PartStatus is one running part.
type PartStatus struct {
	Name  string    `json:"name"`
	Addrs []string  `json:"addrs"`
	Since time.Time `json:"since"`
}

// FleetStatus is the answer to "fleet.status".
type FleetStatus struct {
	Node      string      `json:"node"`
	Connected bool        `json:"connected"` // reaches an etcd quorum
	Since     time.Time   `json:"since"`     // when Connected last changed
	Err       string      `json:"error,omitempty"`
	Nodes     []FleetNode `json:"nodes"` // empty when not connected
}

// FleetNode is one node of the fleet as etcd knows it.
type FleetNode struct {
	Node    string    `json:"node"`
	Up      bool      `json:"up"`
	Version string    `json:"version"`
	Skew    bool      `json:"version_skew"`
	Parts   []string  `json:"parts"`
	Addrs   []string  `json:"addrs"`
	Started time.Time `json:"started"`
}
