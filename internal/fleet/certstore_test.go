package fleet_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"bartleby/internal/fleet"
	"bartleby/internal/fleet/fleettest"
)

const keyPEM = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIO...\n-----END EC PRIVATE KEY-----\n"

func TestCertStorageConformance(t *testing.T) {
	c := fleettest.Shared(t)
	s := c.Connect(t, "a", fleettest.Prefix(t)).CertStorage()
	ctx := context.Background()

	if _, err := s.Load(ctx, "certificates/ca/example.org/example.org.crt"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing key: %v, want fs.ErrNotExist", err)
	}
	if _, err := s.Stat(ctx, "certificates"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat of a missing key: %v, want fs.ErrNotExist", err)
	}
	if s.Exists(ctx, "certificates") {
		t.Fatal("Exists on an empty store")
	}
	if _, err := s.List(ctx, "certificates", true); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("List of a missing directory: %v, want fs.ErrNotExist", err)
	}

	files := map[string]string{
		"certificates/ca/example.org/example.org.crt":  "CERT",
		"certificates/ca/example.org/example.org.key":  keyPEM,
		"certificates/ca/example.org/example.org.json": "{}",
		"certificates/ca/www.example.org/www.crt":      "CERT2",
		"acme/ca/users/ops/ops.json":                   "{}",
	}
	before := time.Now()
	for k, v := range files {
		if err := s.Store(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range files {
		got, err := s.Load(ctx, k)
		if err != nil || string(got) != v {
			t.Fatalf("Load(%s) = %q, %v; want %q", k, got, err, v)
		}
	}
	if err := s.Store(ctx, "certificates/ca/www.example.org/www.crt", []byte("NEW")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Load(ctx, "certificates/ca/www.example.org/www.crt"); string(got) != "NEW" {
		t.Fatalf("Store does not overwrite: %q", got)
	}

	info, err := s.Stat(ctx, "certificates/ca/example.org/example.org.key")
	if err != nil || !info.IsTerminal || info.Size != int64(len(keyPEM)) || info.Modified.Before(before.Add(-time.Second)) {
		t.Fatalf("Stat of a value = %+v, %v", info, err)
	}
	if info, err := s.Stat(ctx, "certificates/ca"); err != nil || info.IsTerminal {
		t.Fatalf("Stat of a directory = %+v, %v", info, err)
	}
	if !s.Exists(ctx, "certificates/ca/example.org") || !s.Exists(ctx, "acme/ca/users/ops/ops.json") || s.Exists(ctx, "certificates/c") {
		t.Fatal("Exists wrong for a directory, a value or a name prefix")
	}

	flat, err := s.List(ctx, "certificates/ca", false)
	if err != nil {
		t.Fatal(err)
	}
	wantList(t, flat, "certificates/ca/example.org", "certificates/ca/www.example.org")
	deep, err := s.List(ctx, "certificates", true)
	if err != nil {
		t.Fatal(err)
	}
	wantList(t, deep, "certificates/ca", "certificates/ca/example.org", "certificates/ca/www.example.org",
		"certificates/ca/example.org/example.org.crt", "certificates/ca/example.org/example.org.key",
		"certificates/ca/example.org/example.org.json", "certificates/ca/www.example.org/www.crt")

	if err := s.Delete(ctx, "certificates/ca/example.org"); err != nil {
		t.Fatal(err)
	}
	if s.Exists(ctx, "certificates/ca/example.org/example.org.crt") || !s.Exists(ctx, "certificates/ca/www.example.org/www.crt") {
		t.Fatal("Delete of a directory removed too little or too much")
	}
	if err := s.Delete(ctx, "certificates/ca/example.org"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	for _, bad := range []string{"", "a/../b", "a//b"} {
		if err := s.Store(ctx, bad, []byte("x")); err == nil {
			t.Errorf("Store(%q) accepted", bad)
		}
	}
	if err := s.Store(ctx, "big", make([]byte, 1<<20)); err == nil {
		t.Error("Store of 1 MiB accepted")
	}
}

func wantList(t *testing.T, got []string, want ...string) {
	t.Helper()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("List = %q\nwant   %q", got, want)
	}
}

func TestCertStorageEncryptsPrivateKeysAtRest(t *testing.T) {
	c := fleettest.Shared(t)
	prefix := fleettest.Prefix(t)
	f := c.Connect(t, "a", prefix)
	s := f.CertStorage()
	ctx := context.Background()
	const key = "certificates/ca/example.org/example.org.key"
	for range 2 {
		if err := s.Store(ctx, key, []byte(keyPEM)); err != nil {
			t.Fatal(err)
		}
	}
	raw := rawValue(t, f, prefix+"certmagic/"+key)
	if bytes.Contains(raw, []byte("PRIVATE KEY")) || bytes.Contains(raw, []byte("MHcCAQEEIO")) {
		t.Fatalf("private key readable in etcd: %q", raw)
	}
	if err := s.Store(ctx, key, []byte(keyPEM)); err != nil {
		t.Fatal(err)
	}
	if again := rawValue(t, f, prefix+"certmagic/"+key); bytes.Equal(raw[9:], again[9:]) {
		t.Fatal("two writes of the same key gave the same ciphertext: nonce reused")
	}
	// A sealed key copied to another name does not open.
	_, err := f.Client().Put(ctx, prefix+"certmagic/other.key", string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "other.key"); err == nil {
		t.Fatal("a sealed value opened under another name")
	}
	// Another fleet key cannot read it.
	settings := c.Settings(t, "b", prefix)
	if settings.Key, err = fleet.NewKey(bytes.Repeat([]byte{7}, 32)); err != nil {
		t.Fatal(err)
	}
	otherNode, err := fleet.Connect(ctx, settings, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer otherNode.Close()
	if _, err := otherNode.CertStorage().Load(ctx, key); err == nil || !strings.Contains(err.Error(), "key_file") {
		t.Fatalf("load with another fleet key: %v", err)
	}
}

func rawValue(t *testing.T, f *fleet.Fleet, key string) []byte {
	t.Helper()
	resp, err := f.Client().Get(context.Background(), key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get %s: %v", key, err)
	}
	return resp.Kvs[0].Value
}

func TestCertStorageLockIsExclusiveAndExpiresWithItsHolder(t *testing.T) {
	c := fleettest.Shared(t)
	prefix := fleettest.Prefix(t)
	a := c.Connect(t, "a", prefix).CertStorage()
	bFleet, err := fleet.Connect(context.Background(), c.Settings(t, "b", prefix), discard)
	if err != nil {
		t.Fatal(err)
	}
	b := bFleet.CertStorage()
	ctx := context.Background()
	if err := b.Lock(ctx, "issue_cert_example.org"); err != nil {
		t.Fatal(err)
	}
	// While b holds it, a waits: a bounded wait ends without the lock.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = a.Lock(short, "issue_cert_example.org")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Lock while held: %v, want deadline exceeded", err)
	}
	// b crashes: its lease is no longer kept alive, and expires.
	got := make(chan error, 1)
	go func() { got <- a.Lock(ctx, "issue_cert_example.org") }()
	bFleet.Client().Close() // no more keep-alives, nothing revoked
	defer bFleet.Close()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if err := a.Unlock(ctx, "issue_cert_example.org"); err != nil {
		t.Fatal(err)
	}
	// Unlocked, it is free at once.
	if err := a.Lock(ctx, "issue_cert_example.org"); err != nil {
		t.Fatal(err)
	}
	a.Unlock(ctx, "issue_cert_example.org")
}
