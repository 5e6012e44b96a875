package certs

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"bartleby/internal/certs/testca"
	"bartleby/internal/config"
	"bartleby/internal/testutil"
)

// TestACMEFailureListed: when the CA cannot validate a name (nothing
// answers its HTTP-01 challenge), the name's certificate lists the
// failure certmagic reported.
func TestACMEFailureListed(t *testing.T) {
	t.Parallel()
	httpPort := testca.FreePort(t) // nothing listens: validation fails
	p := testca.StartPebble(t, testca.PebbleOptions{DNS: testca.StartDNS(t), HTTPPort: httpPort, TLSPort: testca.FreePort(t)})
	m, err := New(&config.Config{StateDir: t.TempDir(), ACME: &config.ACME{
		Directory: p.Dir, CARoot: p.CAFile, Challenges: []string{config.ChallengeHTTP01},
	}}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	if _, err := m.TLSConfig(Source{Names: []string{"Fail.test"}, ACME: true}); err != nil {
		t.Fatal(err)
	}
	var got ACMEFailure
	testutil.Eventually(t, time.Minute, "a failed obtain listed", func() error {
		list := m.Certificates()
		if len(list) != 1 || len(list[0].ACMEFailures) != 1 {
			return fmt.Errorf("certificates %+v", list)
		}
		got = list[0].ACMEFailures[0]
		return nil
	})
	if got.Name != "fail.test" || got.Renewal || got.At.IsZero() || !strings.Contains(got.Error, "fail.test") {
		t.Fatalf("failure %+v", got)
	}
}

// TestACMEFailuresBounded: only managed names are remembered, an error is
// cut to maxErrorLen, and an obtained certificate clears its failure.
func TestACMEFailuresBounded(t *testing.T) {
	a := &acmeState{byName: map[string]*certmagic.Config{"a.test": nil}, failures: map[string]ACMEFailure{}}
	a.onEvent(t.Context(), "cert_failed", map[string]any{"identifier": "other.test", "error": errors.New("x")})
	a.onEvent(t.Context(), "cert_failed", map[string]any{"identifier": "a.test", "renewal": true, "error": errors.New(strings.Repeat("e", 5000))})
	f := a.failuresFor([]string{"a.test", "other.test"})
	if len(a.failures) != 1 || len(f) != 1 || !f[0].Renewal || len([]rune(f[0].Error)) != maxErrorLen {
		t.Fatalf("failures %d, listed %+v", len(a.failures), f)
	}
	a.onEvent(t.Context(), "cert_obtained", map[string]any{"identifier": "a.test"})
	if f := a.failuresFor([]string{"a.test"}); len(f) != 0 {
		t.Fatalf("after obtaining: %+v", f)
	}
}
