package certs

import (
	"crypto/tls"
	"strings"
	"testing"
)

func TestSNISelection(t *testing.T) {
	t.Parallel()
	m := newManager(t, "")
	dir := t.TempDir()
	aCert, aKey, a := writePair(t, dir, "a", "a.test")
	wCert, wKey, w := writePair(t, dir, "w", "*.w.test")
	cfg, err := m.TLSConfig(
		Source{Names: []string{"a.test", "www.a.test"}, CertFile: aCert, KeyFile: aKey},
		Source{Names: []string{"*.w.test"}, CertFile: wCert, KeyFile: wKey},
		Source{Names: []string{"exact.w.test"}}, // self-signed
	)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, cfg)
	exact := peek(t, addr, "exact.w.test").SerialNumber.String()
	for _, c := range []struct{ name, want string }{
		{"a.test", a},
		{"WWW.A.Test", a},
		{"x.w.test", w},
		{"exact.w.test", exact},
		{"w.test", a},       // a wildcard does not cover its parent
		{"a.b.w.test", a},   // nor two labels
		{"unknown.test", a}, // the first source is the default
		{"", a},             // no SNI at all
	} {
		if got := peek(t, addr, c.name).SerialNumber.String(); got != c.want {
			t.Errorf("SNI %q: got serial %s, want %s", c.name, got, c.want)
		}
	}
	if exact == a || exact == w {
		t.Error("the self-signed source served a file certificate")
	}
}

func TestOldTLSRefused(t *testing.T) {
	t.Parallel()
	cfg, err := newManager(t, "").TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, cfg)
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		_, err := handshake(addr, &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v})
		if err == nil || !strings.Contains(err.Error(), "protocol version") {
			t.Errorf("a %s handshake: got error %v, want a protocol version alert", tls.VersionName(v), err)
		}
	}
	// TLS 1.2 with a CBC suite only is refused; with AEAD it works.
	_, err = handshake(addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}})
	if err == nil {
		t.Error("a TLS 1.2 handshake with a CBC suite succeeded")
	}
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatalf("TLS 1.2 handshake: %v", err)
	}
	defer c.Close()
	if st := c.ConnectionState(); st.NegotiatedProtocol != "h2" {
		t.Errorf("ALPN %q, want h2", st.NegotiatedProtocol)
	}
}

func TestSessionTicketsRotated(t *testing.T) {
	t.Parallel()
	m := newManager(t, "")
	cfg, err := m.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	// A clone, as http.Server.ServeTLS makes, must follow the rotation.
	addr := serve(t, cfg.Clone())
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		client := &tls.Config{InsecureSkipVerify: true, MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
		resumed := func() bool {
			c, err := tls.Dial("tcp", addr, client)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// TLS 1.3 tickets arrive after the handshake: read for them.
			c.Write([]byte("x"))
			c.Read(make([]byte, 1))
			return c.ConnectionState().DidResume
		}
		resumed()
		if !resumed() {
			t.Fatalf("%s: no resumption with a fresh ticket", tls.VersionName(v))
		}
		m.rotateAll()
		if !resumed() {
			t.Errorf("%s: a ticket of the previous key no longer resumes", tls.VersionName(v))
		}
		for range keptTicketKeys {
			m.rotateAll()
		}
		if resumed() {
			t.Errorf("%s: a ticket resumed after its key was dropped", tls.VersionName(v))
		}
	}
}

func TestClientConfig(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	cfg, err := newManager(t, state).TLSConfig(Source{Names: []string{"relay.test"}})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, cfg)
	ca := selfSignedFile(state, "relay.test")

	client, err := ClientConfig(ca, "relay.test")
	if err != nil {
		t.Fatal(err)
	}
	if client.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion %x, want TLS 1.2", client.MinVersion)
	}
	if _, err := handshake(addr, client); err != nil {
		t.Errorf("verified handshake with the CA file: %v", err)
	}
	if client, err = ClientConfig(ca, "other.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(addr, client); err == nil {
		t.Error("a wrong server name verified")
	}
	if client, err = ClientConfig("", "relay.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(addr, client); err == nil {
		t.Error("the system roots trusted a self-signed certificate")
	}
	if _, err := ClientConfig(t.TempDir(), "relay.test"); err == nil {
		t.Error("an empty CA directory gave no error")
	}
}
