// Package version is bartleby's version, set at link time by the Makefile.
package version

import "runtime/debug"

// Version is overridden with -ldflags "-X bartleby/internal/version.Version=…".
var Version = ""

// String returns the version, falling back to the module's VCS stamp.
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}
