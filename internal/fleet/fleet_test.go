package fleet_test

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bartleby/internal/certs"
	"bartleby/internal/certs/testca"
	"bartleby/internal/fleet"
	"bartleby/internal/fleet/fleettest"
	"bartleby/internal/testutil"
)

func TestMain(m *testing.M) {
	// A short lease: keep-alives every second, a crashed node down in 3.
	fleet.MemberTTL = 3 * time.Second
	fleet.LockTTL = 2 * time.Second
	// Certificates from Pebble live for seconds in TestACMERenewedOnce.
	certs.RenewCheckInterval = time.Second
	if spec := os.Getenv(acmeNodeEnv); spec != "" {
		os.Exit(runNode(spec))
	}
	os.Exit(fleettest.Main(m))
}

func TestMembershipListsNodesUpAndDownWithSkew(t *testing.T) {
	c := fleettest.Shared(t)
	prefix := fleettest.Prefix(t)
	a := c.Connect(t, "web1", prefix)
	b := c.Connect(t, "web2", prefix)
	ctx := context.Background()
	register(t, a, fleet.Member{Version: "1.2", Parts: []string{"web"}, Addrs: []string{"10.0.0.1:443"}})
	register(t, b, fleet.Member{Version: "1.1", Parts: []string{"web", "mail"}})
	nodes, err := a.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].Node != "web1" || !nodes[0].Up || nodes[0].Skew ||
		nodes[1].Node != "web2" || !nodes[1].Up || !nodes[1].Skew || nodes[1].Parts[1] != "mail" {
		t.Fatalf("nodes = %+v", nodes)
	}
	// A node that leaves (Close revokes its lease) is listed down.
	b.Close()
	nodes, err = a.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || !nodes[0].Up || nodes[1].Up {
		t.Fatalf("after web2 left: %+v", nodes)
	}
}

func TestIdleNodeWritesNothing(t *testing.T) {
	c := fleettest.Shared(t)
	prefix := fleettest.Prefix(t)
	a := c.Connect(t, "idle", prefix)
	register(t, a, fleet.Member{Version: "1"})
	before := fleettest.Revision(t, a)
	// Several keep-alives and health probes happen meanwhile.
	time.Sleep(fleet.MemberTTL)
	if after := fleettest.Revision(t, a); after != before {
		t.Fatalf("the store's revision moved from %d to %d with no change", before, after)
	}
}

func TestConnectSaysWhatFailed(t *testing.T) {
	c := fleettest.Shared(t)
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	cases := []struct {
		name  string
		edit  func(s *fleet.Settings)
		stage string
	}{
		{"DNS", func(s *fleet.Settings) { s.Endpoints = []string{"no-such-host.invalid:2379"} }, "DNS"},
		{"refused", func(s *fleet.Settings) { s.Endpoints = []string{testutil.FreePort(t)} }, "connect"},
		{"untrusted server", func(s *fleet.Settings) {
			s.TLS.RootCAs = x509.NewCertPool()
			s.TLS.RootCAs.AddCert(testca.New(t, "other").Cert)
		}, "TLS"},
		{"client cert refused", func(s *fleet.Settings) {
			other := testca.New(t, "other")
			certFile, keyFile := other.Issue(t, "127.0.0.1").Write(t, t.TempDir(), "client")
			pair, err := loadPair(certFile, keyFile)
			if err != nil {
				t.Fatal(err)
			}
			s.TLS.Certificates = pair
		}, "TLS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := c.Settings(t, "n", "/x/")
			s.DialTimeout = time.Second
			tc.edit(s)
			_, err := fleet.Connect(ctx, s, log)
			var ce *fleet.ConnectError
			if !errors.As(err, &ce) || ce.Stage != tc.stage {
				t.Fatalf("err = %v, want stage %s", err, tc.stage)
			}
		})
	}
}

func TestCompileChecksEverything(t *testing.T) {
	dir := t.TempDir()
	weak := filepath.Join(dir, "weak.key")
	os.WriteFile(weak, []byte(strings.Repeat("ab", 32)), 0o644)
	_, err := compile(t, dir, `[fleet]
etcd = ["http://10.0.0.1:2379", "https://nohost"]
key_file = "`+weak+`"
prefix = "bartleby"
node = "bad name"
dial_timeout = "1h"
`)
	for _, want := range []string{"fleet.etcd[1]", "fleet.etcd[2]", "fleet.key_file", "chmod 600", "fleet.prefix", "fleet.node", "fleet.dial_timeout", "cert and key are required", "fleet.ca"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}
