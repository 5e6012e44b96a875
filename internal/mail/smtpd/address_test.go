package smtpd

import (
	"strings"
	"testing"
)

func TestDomainKey(t *testing.T) {
	for in, want := range map[string]string{
		"Example.ORG":           "example.org",
		"bücher.example":        "xn--bcher-kva.example",
		"XN--BCHER-KVA.example": "xn--bcher-kva.example",
		"_dmarc.example.org":    "_dmarc.example.org",
		"a-b.example":           "a-b.example",
	} {
		if got, ok := DomainKey(in); !ok || got != want {
			t.Errorf("DomainKey(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{
		"", ".", "example.org.", ".example.org", "x..example.org", "-.example.org", "a-.example.org",
		"evil.test!.example.org", "evil.test%.example.org", "evil.test/.example.org",
		"\u212Ade.org", // Kelvin sign: Unicode case folding would make it kde.org
		"ｅxample.org",  // full-width e, mapped by IDNA lookup rules
		"[127.0.0.1]", strings.Repeat("a", 64) + ".example", strings.Repeat("a.", 127) + "ab",
	} {
		if got, ok := DomainKey(in); ok {
			t.Errorf("DomainKey(%q) = %q, accepted", in, got)
		}
	}
}

func TestSameAddressFoldsASCIIOnly(t *testing.T) {
	if !SameAddress("Postmaster@Example.ORG", "postmaster@example.org") {
		t.Error("ASCII case not folded")
	}
	if SameAddress("u\u212A@example.org", "uk@example.org") {
		t.Error("Kelvin sign folded to k")
	}
	if !SameAddress("u@bücher.example", "u@xn--bcher-kva.example") {
		t.Error("U-label and A-label differ")
	}
}

func TestSourceRouted(t *testing.T) {
	for addr, want := range map[string]bool{
		"u%evil.test@example.org": true, "evil.test!u@example.org": true,
		"u@example.org": false, "u.v+tag@example.org": false,
	} {
		if SourceRouted(addr) != want {
			t.Errorf("SourceRouted(%q) != %v", addr, want)
		}
	}
}

// TestAddressTricks: what go-smtp hands over from the classic relay
// tricks, and the answer of the session.
func TestAddressTricks(t *testing.T) {
	addr := serve(t, &sink{}, nil)
	for rcpt, want := range map[string]string{
		"<@x.test:u@foreign.test>":             "550 5.7.1", // the source route is dropped, the rest is checked
		"<\"u@foreign.test\"@x.test>":          "553 5.1.3",
		"<u@x.test.>":                          "553 5.1.3",
		"<u@[127.0.0.1]>":                      "553 5.1.3",
		"<u@foreign.test!.x.test>":             "553 5.1.3",
		"<u@a..x.test>":                        "553 5.1.3",
		"<u@\u212Ax.test>":                     "553 5.6.7", // non-ASCII without SMTPUTF8
		"<u@" + strings.Repeat("a", 300) + ">": "553 5.1.3",
	} {
		out := dialog(t, addr, "EHLO c\r\nMAIL FROM:<s@x.test>\r\nRCPT TO:"+rcpt+"\r\nQUIT\r\n")
		if !strings.Contains(out, "\r\n"+want) {
			t.Errorf("RCPT TO:%s: want %s in\n%s", rcpt, want, out)
		}
	}
	out := dialog(t, addr, "EHLO c\r\nMAIL FROM:<s@x.test> SMTPUTF8\r\nRCPT TO:<u@\u212Ax.test>\r\nRCPT TO:<ü@bücher.test>\r\nQUIT\r\n")
	if !strings.Contains(out, "553 5.1.3") || !strings.Contains(out, "I'll make sure <ü@bücher.test>") {
		t.Errorf("SMTPUTF8: want the Kelvin sign refused and an IDN taken:\n%s", out)
	}
	// A C1 control (U+009B is a terminal's CSI) or a bidi override in
	// the local part, or invalid UTF-8: refused even with SMTPUTF8.
	for _, rcpt := range []string{"u\u009b2J@x.test", "u\u202egnp.exe@x.test", "u\xff@x.test"} {
		out := dialog(t, addr, "EHLO c\r\nMAIL FROM:<s@x.test> SMTPUTF8\r\nRCPT TO:<"+rcpt+">\r\nQUIT\r\n")
		if !strings.Contains(out, "553 5.1.3") {
			t.Errorf("RCPT TO:<%q> with SMTPUTF8:\n%s", rcpt, out)
		}
	}
	out = dialog(t, addr, "EHLO c\r\nMAIL FROM:<s@evil.test!.x.test>\r\nMAIL FROM:<s@é.test>\r\nQUIT\r\n")
	if !strings.Contains(out, "553 5.1.7 malformed sender") || !strings.Contains(out, "553 5.6.7") {
		t.Errorf("sender checks:\n%s", out)
	}
	// A second MAIL in a transaction is refused: its SMTPUTF8 would
	// otherwise cover recipients checked without it, and the reverse.
	out = dialog(t, addr, "EHLO c\r\nMAIL FROM:<s@x.test> SMTPUTF8\r\nRCPT TO:<ü@x.test>\r\nMAIL FROM:<s@x.test>\r\nRSET\r\nMAIL FROM:<s@x.test>\r\nQUIT\r\n")
	if strings.Count(out, "503 5.5.1 nested MAIL") != 1 || strings.Count(out, "accepting mail from") != 2 {
		t.Errorf("nested MAIL:\n%s", out)
	}
}
