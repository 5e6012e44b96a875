package web

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzAcceptEncoding: the choice is br, gzip or nothing, and only one the
// client named.
func FuzzAcceptEncoding(f *testing.F) {
	for _, s := range []string{"", "gzip", "br;q=0, gzip", "GZIP;q=0.5,br", "identity", "*", "br;q=0.000", "gzip,,;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ae string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", ae)
		enc, ext := acceptedEncoding(r)
		switch {
		case enc == "" && ext == "":
		case enc == "br" && ext == ".br", enc == "gzip" && ext == ".gz":
			if !strings.Contains(strings.ToLower(ae), enc) {
				t.Fatalf("%q chose %s", ae, enc)
			}
		default:
			t.Fatalf("%q: %q %q", ae, enc, ext)
		}
	})
}

// FuzzEsc: a client-chosen field stays on its line and inside its quotes.
func FuzzEsc(f *testing.F) {
	for _, s := range []string{"", "curl/8", "a\"b", "x\r\ny", "\xff\x00", `\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := esc(s)
		for i := 0; i < len(out); i++ {
			if c := out[i]; c < 0x20 || c == 0x7f {
				t.Fatalf("esc(%q) = %q holds a control byte", s, out)
			}
			if out[i] == '"' && (i == 0 || out[i-1] != '\\') {
				t.Fatalf("esc(%q) = %q holds a bare quote", s, out)
			}
		}
	})
}
