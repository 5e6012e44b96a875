package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bartleby/internal/control"
	"bartleby/internal/mail/mailtest"
	"bartleby/internal/testutil"
)

// TestOrdinaryUserMailqAndSendmail: a user outside the bartleby group, who
// may read neither the config (it holds password hashes) nor the control
// socket, still lists the queue with mailq and sends with sendmail, as with
// Postfix. Both find the daemon's public socket at the default state_dir
// (here a private mount namespace puts the test's state_dir there), and
// sendmail takes its settings from the daemon: the bare recipient gets the
// configured qualify_domain, which the user could not have read.
func TestOrdinaryUserMailqAndSendmail(t *testing.T) {
	testutil.NeedRoot(t)
	setpriv, unshare := testutil.Need(t, "setpriv"), testutil.Need(t, "unshare")
	r := newRelayTo(t, mailtest.Options{Rcpt: mailtest.RejectRcpt("later@", 451)})
	d := r.start(t)
	if st, err := os.Stat(d.StateDir); err != nil || st.Mode().Perm() != 0o711 {
		t.Fatalf("state_dir mode %v, %v; want 0711", st.Mode().Perm(), err)
	}
	links := t.TempDir()
	os.Chmod(links, 0o755)
	for _, name := range []string{"sendmail", "mailq"} {
		if err := os.Symlink(testutil.Binary(t), filepath.Join(links, name)); err != nil {
			t.Fatal(err)
		}
	}
	// asNobody runs a command as nobody with d's state_dir mounted at
	// /var/lib/bartleby, over a tmpfs /var/lib, in a mount namespace of
	// its own: the host's /var/lib is not touched.
	asNobody := func(stdin string, argv ...string) (string, error) {
		script := `mount -t tmpfs none /var/lib && mkdir /var/lib/bartleby && mount --bind "$0" /var/lib/bartleby && exec "$@"`
		args := append([]string{"--mount", "--propagation", "private", "sh", "-c", script, d.StateDir,
			setpriv, "--reuid", "nobody", "--regid", "nogroup", "--clear-groups"}, argv...)
		cmd := exec.Command(unshare, args...)
		cmd.Env = append(os.Environ(), "BARTLEBY_CONFIG="+r.conf)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	if out, err := asNobody("To: someone\nSubject: hi\n\nfrom nobody\n", filepath.Join(links, "sendmail"), "-t"); err != nil {
		t.Fatalf("sendmail as nobody: %v\n%s", err, out)
	}
	if got := r.peer.Wait(1, 10*time.Second); len(got) != 1 || got[0].Rcpts[0] != "someone@example.org" {
		t.Fatalf("delivered %+v, want one message to someone@example.org", got)
	}
	if out, err := asNobody("Subject: stays\n\nqueued\n", filepath.Join(links, "sendmail"), "later@example.net"); err != nil {
		t.Fatalf("sendmail as nobody: %v\n%s", err, out)
	}
	var out string
	testutil.Eventually(t, 10*time.Second, "mailq as nobody to list the deferred message", func() error {
		var err error
		if out, err = asNobody("", filepath.Join(links, "mailq")); err != nil {
			t.Fatalf("mailq as nobody: %v\n%s", err, out)
		}
		if !strings.Contains(out, "later@example.net") || !strings.Contains(out, "451") {
			return fmt.Errorf("mailq:\n%s", out)
		}
		return nil
	})
	if !strings.Contains(out, "1 Request.") {
		t.Fatalf("mailq as nobody lists more than the deferred message:\n%s", out)
	}

	// The control commands stay out of reach.
	if out, err := asNobody("", testutil.Binary(t), "status", "-c", r.conf); err == nil {
		t.Errorf("status as nobody succeeded:\n%s", out)
	}
	c, err := control.DialPublic(d.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, cmd := range []string{"status", "reload", "mail.delete", "mail.flush", "mail.show", "maint.on"} {
		if err := c.Call(cmd, nil, nil); err == nil || !strings.Contains(err.Error(), "unknown command") {
			t.Errorf("%s on the public socket: %v, want unknown command", cmd, err)
		}
	}
}
