package certs

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"bartleby/internal/testutil"
)

func TestSelfSignedHandshake(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	m := newManager(t, state)
	cfg, err := m.TLSConfig(Source{Names: []string{"site.test", "Www.Site.Test.", "192.0.2.7"}})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, cfg)
	roots := pool(t, selfSignedFile(state, "site.test"))
	for _, name := range []string{"site.test", "www.site.test", "localhost", "127.0.0.1", "::1", "192.0.2.7"} {
		leaf, err := handshake(addr, &tls.Config{RootCAs: roots, ServerName: name})
		if err != nil {
			t.Fatalf("verified handshake for %s: %v", name, err)
		}
		if leaf.PublicKeyAlgorithm.String() != "ECDSA" {
			t.Errorf("key algorithm %v, want ECDSA", leaf.PublicKeyAlgorithm)
		}
	}
	if _, err := handshake(addr, &tls.Config{RootCAs: roots, ServerName: "other.test"}); err == nil {
		t.Error("handshake for a name not in the certificate verified")
	}
	m.Close()
	if _, err := handshake(addr, &tls.Config{RootCAs: roots, ServerName: "site.test"}); err != nil {
		t.Errorf("after Close, the config handed out fails: %v", err)
	}
	st, err := os.Stat(filepath.Join(state, "certs", "self-signed", "site.test.key"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	st, err = os.Stat(filepath.Join(state, "certs"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("certs dir mode %v, want 0700", st.Mode().Perm())
	}
}

func TestSelfSignedReused(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	first := serialOf(t, newManager(t, state), Source{Names: []string{"a.test", "b.test"}})
	again := serialOf(t, newManager(t, state), Source{Names: []string{"a.test", "b.test"}})
	if first != again {
		t.Errorf("a second Manager made a new certificate (serial %s, then %s)", first, again)
	}
	changed := serialOf(t, newManager(t, state), Source{Names: []string{"a.test", "c.test"}})
	if changed == first {
		t.Error("the certificate was reused although the names changed")
	}
}

func TestSelfSignedRenewedNearExpiry(t *testing.T) {
	t.Parallel()
	m := newManager(t, "")
	dns, ips := selfSignedNames(nil)
	s := &selfSigned{
		names:    dns,
		ips:      ips,
		certFile: filepath.Join(m.dir, "x.crt"),
		keyFile:  filepath.Join(m.dir, "x.key"),
		log:      m.log,
	}
	now := time.Now()
	old, err := s.current(now)
	if err != nil {
		t.Fatal(err)
	}
	same, err := s.current(now.Add(selfSignedLife - selfSignedMargin - time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if same != old {
		t.Error("renewed before the margin")
	}
	renewed, err := s.current(now.Add(selfSignedLife - selfSignedMargin + time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if renewed.Leaf.SerialNumber.Cmp(old.Leaf.SerialNumber) == 0 {
		t.Error("not renewed within 30 days of expiry")
	}
}

func serialOf(t *testing.T, m *Manager, s Source) string {
	t.Helper()
	cfg, err := m.TLSConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	return peek(t, serve(t, cfg), s.Names[0]).SerialNumber.String()
}

// TestSelfSignedCurl: curl (OpenSSL) trusts the self-signed certificate
// given as --cacert, and speaks HTTP/2 through the config.
func TestSelfSignedCurl(t *testing.T) {
	t.Parallel()
	curl := testutil.Need(t, "curl")
	state := t.TempDir()
	cfg, err := newManager(t, state).TLSConfig(Source{Names: []string{"site.test"}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.Proto)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for _, host := range []string{"site.test", "localhost"} {
		out, err := exec.Command(curl, "-sS", "--max-time", "20", "--cacert", selfSignedFile(state, "site.test"),
			"--resolve", host+":"+port+":127.0.0.1", "https://"+host+":"+port+"/").CombinedOutput()
		if err != nil {
			t.Fatalf("curl %s: %v\n%s", host, err, out)
		}
		if string(out) != "hello HTTP/2.0" {
			t.Errorf("curl %s got %q, want hello HTTP/2.0", host, out)
		}
	}
}
