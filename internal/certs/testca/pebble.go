package testca

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"bartleby/internal/testutil"
)

// Pebble is a Pebble ACME server (Debian package pebble) on loopback.
type Pebble struct {
	Dir    string // the ACME directory URL, for [acme] directory
	CAFile string // the CA of Pebble's own HTTPS listeners, for [acme] ca_root
	mgmt   string
	client *http.Client
	cmd    *exec.Cmd
	output string // the file Pebble logs to
}

// PebbleOptions says how Pebble validates. With AlwaysValid it validates
// nothing; otherwise it resolves names through DNS (see StartDNS) and
// connects to HTTPPort (HTTP-01) and TLSPort (TLS-ALPN-01) there.
// CertValidity, when set, is how long the certificates it issues are
// valid (whole seconds; Pebble's default is five years): short-lived
// certificates are how renewals are tested.
type PebbleOptions struct {
	AlwaysValid       bool
	DNS               string // "127.0.0.1:port"
	HTTPPort, TLSPort int
	CertValidity      time.Duration
}

// StartPebble runs Pebble until the test ends; the test is skipped (or
// fails in CI) when Pebble is not installed.
func StartPebble(t testing.TB, opt PebbleOptions) *Pebble {
	t.Helper()
	bin := testutil.Need(t, "pebble")
	dir := t.TempDir()
	ca := New(t, "pebble test CA")
	caFile := filepath.Join(dir, "ca.pem")
	WriteFile(t, caFile, ca.PEM)
	certFile, keyFile := ca.Issue(t, "localhost", "127.0.0.1", "::1").Write(t, dir, "pebble")
	listen, mgmt := testutil.FreePort(t), testutil.FreePort(t)
	settings := map[string]any{
		"listenAddress":           listen,
		"managementListenAddress": mgmt,
		"certificate":             certFile,
		"privateKey":              keyFile,
		"httpPort":                orFree(t, opt.HTTPPort),
		"tlsPort":                 orFree(t, opt.TLSPort),
		"ocspResponderURL":        "",
	}
	if opt.CertValidity > 0 {
		settings["certificateValidityPeriod"] = uint64(opt.CertValidity / time.Second)
	}
	conf, err := json.Marshal(map[string]any{"pebble": settings})
	if err != nil {
		t.Fatal(err)
	}
	confFile := filepath.Join(dir, "pebble.json")
	WriteFile(t, confFile, conf)
	args := []string{"-config", confFile}
	if opt.DNS != "" {
		args = append(args, "-dnsserver", opt.DNS)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	p := &Pebble{
		Dir:    "https://" + listen + "/dir",
		CAFile: caFile,
		mgmt:   "https://" + mgmt,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
		}},
		cmd: exec.Command(bin, args...),
	}
	p.cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	if opt.AlwaysValid {
		p.cmd.Env = append(p.cmd.Env, "PEBBLE_VA_ALWAYS_VALID=1")
	}
	p.output = Run(t, p.cmd)
	testutil.Eventually(t, time.Minute, "pebble's directory", func() error {
		_, err := p.get(p.Dir)
		return err
	})
	return p
}

// Stop ends Pebble before the test does.
func (p *Pebble) Stop() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// Orders counts the new-order requests Pebble has answered so far, from
// its log: how many times clients asked for a certificate.
func (p *Pebble) Orders(t testing.TB) int {
	t.Helper()
	return p.countLog(t, "POST /order-plz")
}

// RootPEM returns the root Pebble issues under, made anew at every start:
// what a client trusts to verify certificates from Pebble.
func (p *Pebble) RootPEM(t testing.TB) []byte {
	t.Helper()
	data, err := p.get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Roots is RootPEM as a pool.
func (p *Pebble) Roots(t testing.TB) *x509.CertPool {
	t.Helper()
	data := p.RootPEM(t)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(data) {
		t.Fatalf("no certificate at pebble's /roots/0: %q", data)
	}
	return roots
}

func (p *Pebble) get(url string) ([]byte, error) {
	resp, err := p.client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, err
}

// StartDNS runs pebble-challtestsrv as a DNS server answering 127.0.0.1
// for every name until the test ends, and returns its address.
func StartDNS(t testing.TB) string {
	t.Helper()
	bin := testutil.Need(t, "pebble-challtestsrv")
	addr := testutil.FreePort(t)
	Run(t, exec.Command(bin, "-dns01", addr, "-http01", "", "-https01", "", "-tlsalpn01", "",
		"-management", testutil.FreePort(t), "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""))
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", addr)
	}}
	testutil.Eventually(t, time.Minute, "pebble-challtestsrv's DNS", func() error {
		_, err := r.LookupHost(t.Context(), "site.test")
		return err
	})
	return addr
}

// Run starts cmd until the test ends and returns the file its output goes
// to; the output is logged if the test fails.
func Run(t testing.TB, cmd *exec.Cmd) string {
	t.Helper()
	out, err := os.Create(filepath.Join(t.TempDir(), "output"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		out.Close()
		if t.Failed() {
			data, _ := os.ReadFile(out.Name())
			t.Logf("%s output:\n%s", filepath.Base(cmd.Path), data)
		}
	})
	return out.Name()
}

// FreePort returns a free loopback port number.
func FreePort(t testing.TB) int {
	t.Helper()
	return Port(t, testutil.FreePort(t))
}

// Port is the port number of a host:port address (Pebble's config wants
// numbers).
func Port(t testing.TB, addr string) int {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func orFree(t testing.TB, port int) int {
	if port == 0 {
		return FreePort(t)
	}
	return port
}

// Issued counts the certificates Pebble has issued so far, from its log.
func (p *Pebble) Issued(t testing.TB) int {
	t.Helper()
	return p.countLog(t, "Issued certificate serial")
}

// countLog counts the occurrences of s in Pebble's log.
func (p *Pebble) countLog(t testing.TB, s string) int {
	t.Helper()
	data, err := os.ReadFile(p.output)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(data, []byte(s))
}
