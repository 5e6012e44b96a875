package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"bartleby/internal/mail/mailtest"
	"bartleby/internal/testutil"
)

// relay is a smarthost sink and the config of a bartleby relaying to it.
type relay struct {
	peer     *mailtest.Peer
	submit   string // loopback submission address
	maildrop string
	config   string // bartleby's config, also written to conf for sendmail
	conf     string
}

// newRelay starts the sink and writes the config, with extra lines for
// the [mail] section; the daemon is started by start, so a test may first
// submit with it down.
func newRelay(t *testing.T, extra ...string) *relay {
	t.Helper()
	return newRelayTo(t, mailtest.Options{}, extra...)
}

// newRelayTo is newRelay with a smarthost started with opts (TLS added).
func newRelayTo(t *testing.T, opts mailtest.Options, extra ...string) *relay {
	t.Helper()
	dir := t.TempDir()
	ca := mailtest.NewCA(t)
	cert := ca.Issue(t, "127.0.0.1")
	opts.Cert = &cert
	r := &relay{peer: mailtest.StartPeer(t, opts), submit: testutil.FreePort(t),
		maildrop: filepath.Join(dir, "maildrop"), conf: filepath.Join(dir, "b.toml")}
	// No state_dir: StartDaemon picks its own, which the control socket
	// lives in; the maildrop is named, so sendmail finds it all the same.
	r.config = fmt.Sprintf("hostname = \"relay.test\"\n[mail]\nqualify_domain = \"example.org\"\n%ssubmit = [%q]\nmaildrop = %q\n[mail.smarthost]\nhost = %q\nca = %q\n",
		strings.Join(append(extra, ""), "\n"), r.submit, r.maildrop, r.peer.Addr, ca.WriteFile(t, dir))
	if err := os.WriteFile(r.conf, []byte(r.config), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *relay) start(t *testing.T) *testutil.Daemon {
	t.Helper()
	return testutil.StartDaemon(t, r.config)
}

// sendmail runs the binary as sendmail (through a symlink, as
// /usr/sbin/sendmail is) on r's config.
func (r *relay) sendmail(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sendmail")
	if err := os.Symlink(testutil.Binary(t), p); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p, args...)
	cmd.Env = append(os.Environ(), "BARTLEBY_CONFIG="+r.conf)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// body splits a delivered message at the end of its header.
func body(t *testing.T, data []byte) (header, body string) {
	t.Helper()
	h, b, ok := strings.Cut(string(data), "\r\n\r\n")
	if !ok {
		t.Fatalf("no header end in %.300q", data)
	}
	return h + "\r\n", b
}
