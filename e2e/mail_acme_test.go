package e2e

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/textproto"
	"testing"
	"time"

	"bartleby/internal/certs/testca"
	"bartleby/internal/testutil"
)

// TestMXStartTLSWithACME: when a web site manages the host name through
// [acme], the backup MX's STARTTLS serves that certificate (from Pebble
// here) instead of a self-signed one, so MTA-STS and primary_tls =
// "required" on the other side can verify it.
func TestMXStartTLSWithACME(t *testing.T) {
	t.Parallel()
	p := testca.StartPebble(t, testca.PebbleOptions{AlwaysValid: true})
	mx := testutil.FreePort(t)
	testutil.StartDaemon(t, fmt.Sprintf(`
hostname = "mx2.test"
[acme]
email = "ops@mx2.test"
directory = "%s"
ca_root = "%s"
[web]
http = "%s"
https = "%s"
[[site]]
hosts = ["mx2.test"]
  [[site.route]]
  respond = "ok"
[mail]
  [mail.backup_mx]
  listen = ["%s"]
  domains = ["example.org"]
  recipients = ["user@example.org"]
  primary = "%s"
`, p.Dir, p.CAFile, testutil.FreePort(t), testutil.FreePort(t), mx, testutil.FreePort(t)))
	roots := p.Roots(t)
	testutil.Eventually(t, time.Minute, "a certificate from Pebble on the MX's STARTTLS", func() error {
		return startTLS(mx, &tls.Config{ServerName: "mx2.test", RootCAs: roots})
	})
}

// startTLS greets the SMTP server at addr and upgrades with cfg.
func startTLS(addr string, cfg *tls.Config) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(c)
	if _, _, err := tp.ReadResponse(220); err != nil {
		return err
	}
	for _, cmd := range []string{"EHLO client.test", "STARTTLS"} {
		if err := tp.PrintfLine("%s", cmd); err != nil {
			return err
		}
		if _, _, err := tp.ReadResponse(2); err != nil {
			return fmt.Errorf("%s: %w", cmd, err)
		}
	}
	return tls.Client(c, cfg).Handshake()
}
