package daemon

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStateDirModes: a new state_dir is 0711; one others may read or
// write is narrowed with a warning; one closed to others (0710, the
// default before the public socket) is kept, and the log says what that
// closes.
func TestStateDirModes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		existing  os.FileMode // 0: not there
		want      os.FileMode
		narrowed  bool
		closedLog bool
	}{
		{name: "new", want: 0o711},
		{name: "open", existing: 0o777, want: 0o711, narrowed: true},
		{name: "closed to others", existing: 0o710, want: 0o710, closedLog: true},
		{name: "group readable", existing: 0o750, want: 0o710, narrowed: true, closedLog: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			if tc.existing != 0 {
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				os.Chmod(dir, tc.existing)
			}
			var logs bytes.Buffer
			if err := prepareStateDir(dir, os.Geteuid(), os.Getegid(), slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(dir)
			if err != nil || st.Mode().Perm() != tc.want {
				t.Fatalf("mode %v, %v; want %v", st.Mode().Perm(), err, tc.want)
			}
			if got := strings.Contains(logs.String(), "daemon.state_dir_fixed"); got != tc.narrowed {
				t.Errorf("narrowing logged: %v, want %v\n%s", got, tc.narrowed, logs.String())
			}
			if got := strings.Contains(logs.String(), "daemon.public_socket_closed"); got != tc.closedLog {
				t.Errorf("closed public socket logged: %v, want %v\n%s", got, tc.closedLog, logs.String())
			}
		})
	}
}
