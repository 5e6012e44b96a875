package admin

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"bartleby/internal/certs"
	"bartleby/internal/config"
	"bartleby/internal/part"
	"bartleby/internal/testutil"
)

func testEnv(t *testing.T, listen string) *part.Env {
	cfg := &config.Config{StateDir: t.TempDir(), Hostname: "localhost",
		Admin: &config.Admin{Listen: listen, Allow: []string{"127.0.0.1"}}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cm, err := certs.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cm.Close)
	return &part.Env{Config: cfg, Log: log, Certs: cm, Metrics: prometheus.NewRegistry()}
}

func TestServeHTTPS(t *testing.T) {
	t.Parallel()
	p, err := New(testEnv(t, testutil.FreePort(t)), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	addr := p.Addrs()[0]
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := c.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "ok\n" || res.TLS == nil {
		t.Fatalf("/healthz over HTTPS: %d %q", res.StatusCode, body)
	}
	// Plain HTTP is not served.
	if res, err := c.Get("http://" + addr + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Error("plain HTTP answered 200")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("still listening after Shutdown")
	}
}

// TestReloadCertificate: a reload that changes the host name serves the
// new self-signed certificate on the same listener.
func TestReloadCertificate(t *testing.T) {
	t.Parallel()
	env := testEnv(t, testutil.FreePort(t))
	p, err := New(env, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown(context.Background()) })
	names := func() []string {
		t.Helper()
		c, err := tls.Dial("tcp", p.Addrs()[0], &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].DNSNames
	}
	if got := names(); slices.Contains(got, "reloaded.example") {
		t.Fatalf("certificate before reload already names reloaded.example: %v", got)
	}
	cfg := *env.Config
	cfg.Hostname = "reloaded.example"
	env.Config = &cfg
	if err := p.(*Server).Reload(env, Deps{}); err != nil {
		t.Fatal(err)
	}
	if got := names(); !slices.Contains(got, "reloaded.example") {
		t.Fatalf("certificate after reload: %v, want it to name reloaded.example", got)
	}
}

func TestStartAddressTaken(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p, err := New(testEnv(t, ln.Addr().String()), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Start()
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("Start on a taken address: %v, want an error naming %s", err, ln.Addr())
	}
}

func TestNewWithoutSection(t *testing.T) {
	t.Parallel()
	env := testEnv(t, "127.0.0.1:0")
	env.Config.Admin = nil
	if p, err := New(env, Deps{}); p != nil || err != nil {
		t.Fatalf("New without [admin] = %v, %v; want nil, nil", p, err)
	}
}
