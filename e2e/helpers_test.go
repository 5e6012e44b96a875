package e2e

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"bartleby/internal/testutil"
)

// exitCode is a command's exit status (0 for nil, -1 when it did not run).
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// get makes one request, not following redirects.
func get(t *testing.T, url string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// waitFile waits until path exists and is not empty: the access log line
// is written after the response.
func waitFile(t *testing.T, path string) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, path+" written", func() error {
		if st, err := os.Stat(path); err != nil || st.Size() == 0 {
			return fmt.Errorf("missing or empty (%v)", err)
		}
		return nil
	})
}

// getBody makes one request with c and returns the status and the body.
func getBody(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}
