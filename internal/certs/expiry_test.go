package certs

import (
	"crypto/tls"
	"testing"
	"time"
)

func TestExpiry(t *testing.T) {
	t.Parallel()
	m := newManager(t, "")
	certFile, keyFile, _ := writePair(t, t.TempDir(), "files", "files.test")
	if _, err := m.TLSConfig(Source{Names: []string{"files.test", "WWW.files.test"}, CertFile: certFile, KeyFile: keyFile},
		Source{Names: []string{"self.test"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.TLSConfig(); err != nil {
		t.Fatal(err)
	}
	exp := m.Expiry()
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	files := pair.Leaf.NotAfter
	if len(exp) != 4 || !exp["files.test"].Equal(files) || !exp["www.files.test"].Equal(files) {
		t.Fatalf("expiry %v, want files.test and www.files.test at %s", exp, files)
	}
	for _, n := range []string{"self.test", "default"} {
		if d := time.Until(exp[n]); d < 24*time.Hour {
			t.Errorf("%s expires %s", n, exp[n])
		}
	}
}
