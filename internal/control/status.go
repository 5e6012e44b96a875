package control

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Status is the answer to the "status" command.
type Status struct {
	Version string    `json:"version"`
	PID     int       `json:"pid"`
	Config  string    `json:"config"`
	Started time.Time `json:"started"`
	Reload  time.Time `json:"last_reload,omitzero"`
	// Attempt is the last reload tried, successful or not.
	Attempt *ReloadResult `json:"last_reload_attempt,omitempty"`
	Parts   []PartStatus  `json:"parts"`
	// Notices are the parts' warnings, as on the admin home page
	// ("mail: 1 message(s) from the maildrop set aside …").
	Notices []string `json:"notices,omitempty"`
}

// ReloadResult is the outcome of one reload: the answer to `bartleby
// reload` and the last attempt in `status`.
type ReloadResult struct {
	At time.Time `json:"at"`
	// By says what asked: "SIGHUP" or "control socket (uid N)".
	By string `json:"by"`
	OK bool   `json:"ok"`
	// Unchanged is true when the file was refused whole: nothing changed.
	Unchanged bool          `json:"unchanged,omitempty"`
	Parts     []PartOutcome `json:"parts,omitempty"`
	// Errors lists every problem, config errors as FILE:LINE: KEY: message.
	Errors []string `json:"errors,omitempty"`
}

// PartOutcome is what a reload did to one part.
type PartOutcome struct {
	Name string `json:"name"`
	// Action is "reloaded in place", "restarted", "started", "stopped" or,
	// when it failed, "kept the old config".
	Action string `json:"action"`
}

// PartStatus is one running part.
type PartStatus struct {
	Name  string    `json:"name"`
	Addrs []string  `json:"addrs"`
	Since time.Time `json:"since"`
	State string    `json:"state"`           // running, or failing: a listener stopped for good
	Error string    `json:"error,omitempty"` // why it is failing
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

// Summary is the outcome in a few words, for status lines.
func (r *ReloadResult) Summary() string {
	switch {
	case r.OK:
		return "applied"
	case r.Unchanged:
		return fmt.Sprintf("refused (%d problem(s)), the running config is unchanged", len(r.Errors))
	}
	return fmt.Sprintf("applied but for %d problem(s); those parts kept their old config", len(r.Errors))
}

// Write prints the outcome the way `bartleby reload` shows it: what each
// part did, then every problem on its own line.
func (r *ReloadResult) Write(w io.Writer) {
	switch {
	case r.OK:
		fmt.Fprintln(w, "reload applied:")
	case r.Unchanged:
		fmt.Fprintln(w, "reload refused, the running config is unchanged:")
	default:
		fmt.Fprintln(w, "reload applied but for the problems below; those parts kept their old config:")
	}
	if !r.Unchanged {
		for _, p := range r.Parts {
			fmt.Fprintf(w, "  %-6s %s\n", p.Name, p.Action)
		}
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(e, "\n", "\n  "))
	}
}
