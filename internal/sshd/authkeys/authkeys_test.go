package authkeys

import (
	"net/netip"
	"strings"
	"testing"
)

const pub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

func TestFrom(t *testing.T) {
	t.Parallel()
	keys, err := Parse([]byte("# comment\n\nfrom=\"192.0.2.0/24,!192.0.2.7,10.1.*,::1\" " + pub + " alice@laptop\n" + pub + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Comment != "alice@laptop" {
		t.Fatalf("keys = %+v", keys)
	}
	for addr, want := range map[string]bool{
		"192.0.2.1": true, "192.0.2.7": false, "10.1.2.3": true, "10.2.0.1": false,
		"::1": true, "::ffff:192.0.2.9": true, "198.51.100.1": false,
	} {
		if got := keys[0].Allows(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Allows(%s) = %v, want %v", addr, got, want)
		}
	}
	if !keys[1].Allows(netip.MustParseAddr("203.0.113.5")) {
		t.Error("key without from= refused")
	}
}

func TestRefusedOptions(t *testing.T) {
	t.Parallel()
	for _, line := range []string{
		`command="/bin/sh" ` + pub,
		`permitopen="host:80" ` + pub,
		`environment="A=b" ` + pub,
		`from="example.org" ` + pub,
		`from=192.0.2.1 ` + pub,
		`cert-authority ` + pub,
		`no-pty=1 ` + pub,
		"ssh-ed25519 notbase64",
	} {
		if _, err := Parse([]byte(line)); err == nil {
			t.Errorf("Parse(%q) accepted", line)
		}
	}
	k, err := ParseLine([]byte("restrict,no-pty,no-port-forwarding " + pub))
	if err != nil || k.from != nil {
		t.Errorf("restrictions refused: %v", err)
	}
	_, err = Parse([]byte(pub + "\ncommand=\"x\" " + pub + "\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("error does not name line 2: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(pub))
	f.Add([]byte(`from="10.0.0.0/8,!10.1.*" ` + pub))
	f.Add([]byte(`no-pty,command="x" ` + pub))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := Parse(data)
		if err != nil && keys != nil {
			t.Fatal("keys returned with an error")
		}
		for _, k := range keys {
			k.Allows(netip.MustParseAddr("192.0.2.1"))
		}
	})
}
