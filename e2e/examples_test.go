package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"bartleby/internal/testutil"
)

// The example configs in examples/ pass `bartleby check`.
func TestExamplesCheck(t *testing.T) {
	for _, f := range []string{"../examples/wordpress.toml", "../examples/quickstart.toml"} {
		out, err := exec.Command(testutil.Binary(t), "check", "-c", f).CombinedOutput()
		if err != nil || !strings.Contains(string(out), ": ok") {
			t.Errorf("bartleby check -c %s: %v\n%s", f, err, out)
		}
	}
}
