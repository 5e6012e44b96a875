package certs

import (
	"os"
	"testing"
)

func TestFilesReload(t *testing.T) {
	t.Parallel()
	m := newManager(t, "")
	m.fileCheckEvery = 0 // look at the files on every handshake
	dir := t.TempDir()
	certFile, keyFile, first := writePair(t, dir, "site", "site.test")
	cfg, err := m.TLSConfig(Source{Names: []string{"site.test"}, CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, cfg)
	if got := peek(t, addr, "site.test").SerialNumber.String(); got != first {
		t.Fatalf("serial %s, want the file's %s", got, first)
	}

	_, _, second := writePair(t, dir, "site", "site.test")
	if got := peek(t, addr, "site.test").SerialNumber.String(); got != second {
		t.Fatalf("after replacing the files: serial %s, want the new %s", got, second)
	}

	// A broken replacement: a garbage cert, then a key that does not match.
	if err := os.WriteFile(certFile, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := peek(t, addr, "site.test").SerialNumber.String(); got != second {
		t.Fatalf("after a garbage cert file: serial %s, want the old %s", got, second)
	}
	other := t.TempDir()
	otherCert, _, _ := writePair(t, other, "x", "site.test")
	data, err := os.ReadFile(otherCert)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := peek(t, addr, "site.test").SerialNumber.String(); got != second {
		t.Fatalf("after a cert not matching the key: serial %s, want the old %s", got, second)
	}
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	if got := peek(t, addr, "site.test").SerialNumber.String(); got != second {
		t.Fatalf("after removing the key: serial %s, want the old %s", got, second)
	}

	_, _, third := writePair(t, dir, "site", "site.test")
	if got := peek(t, addr, "site.test").SerialNumber.String(); got != third {
		t.Fatalf("after repairing the files: serial %s, want the new %s", got, third)
	}
}

func TestFilesMissing(t *testing.T) {
	t.Parallel()
	m := newManager(t, "")
	dir := t.TempDir()
	certFile, _, _ := writePair(t, dir, "site", "site.test")
	for _, s := range []Source{
		{CertFile: certFile, KeyFile: dir + "/none.key"},
		{CertFile: certFile},
		{CertFile: certFile, KeyFile: certFile},
		{CertFile: certFile, KeyFile: certFile, ACME: true},
	} {
		if _, err := m.TLSConfig(s); err == nil {
			t.Errorf("TLSConfig(%+v) gave no error", s)
		}
	}
}
