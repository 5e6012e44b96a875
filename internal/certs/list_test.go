package certs

import (
	"slices"
	"testing"
	"time"

	"bartleby/internal/config"
)

// TestCertificatesListsServedSources: each source asked for once, with
// the names and expiry of its certificate; a source given twice is
// listed once.
func TestCertificatesListsServedSources(t *testing.T) {
	m, err := New(&config.Config{StateDir: t.TempDir()}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	for range 2 {
		if _, err := m.TLSConfig(Source{Names: []string{"admin.test"}}); err != nil {
			t.Fatal(err)
		}
	}
	list := m.Certificates()
	if len(list) != 1 {
		t.Fatalf("%d certificates: %+v", len(list), list)
	}
	c := list[0]
	if c.Source != "self-signed" || c.Error != "" || !slices.Contains(c.Subjects, "admin.test") || c.NotAfter.Before(time.Now().Add(24*time.Hour)) || c.Issuer == "" {
		t.Fatalf("certificate %+v", c)
	}
}
