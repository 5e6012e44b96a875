package guard

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("action ran")) })

// do sends one request from addr through the rules.
func do(h http.Handler, addr string, mod func(*http.Request)) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/wp-login.php", strings.NewReader("log=a&pwd=b"))
	r.RemoteAddr = addr + ":1234"
	if mod != nil {
		mod(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func peer(r *http.Request) netip.Addr {
	ap, _ := netip.ParseAddrPort(r.RemoteAddr)
	return ap.Addr()
}

func TestAllowDeny(t *testing.T) {
	g := &Rules{Allow: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
		Deny: []netip.Prefix{netip.MustParsePrefix("192.0.2.66/32")}, Client: peer}
	h := g.Wrap(ok)
	for addr, want := range map[string]int{"192.0.2.7": 200, "192.0.2.66": 403, "198.51.100.1": 403} {
		if w := do(h, addr, nil); w.Code != want || (want == 403 && strings.Contains(w.Body.String(), "action")) {
			t.Errorf("%s: %d %q, want %d", addr, w.Code, w.Body.String(), want)
		}
	}
}

func TestBasicAuth(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	g := &Rules{Auth: NewBasicAuth("staging", map[string]string{"ann": string(hash)}), Client: peer}
	h := g.Wrap(ok)
	w := do(h, "192.0.2.1", nil)
	if w.Code != 401 || !strings.Contains(w.Header().Get("WWW-Authenticate"), `realm="staging"`) {
		t.Fatalf("no credentials: %d %v", w.Code, w.Header())
	}
	if w := do(h, "192.0.2.1", func(r *http.Request) { r.SetBasicAuth("ann", "s3cret") }); w.Code != 200 {
		t.Fatalf("right password: %d", w.Code)
	}
	codes := ""
	for range 12 {
		w := do(h, "192.0.2.9", func(r *http.Request) { r.SetBasicAuth("ann", "guess") })
		codes += http.StatusText(w.Code)[:3] + " "
	}
	if !strings.HasPrefix(codes, strings.Repeat("Una ", failuresPerMinute-1)) || !strings.HasSuffix(codes, "Too Too ") {
		t.Errorf("wrong passwords answered %s", codes)
	}
	// A remembered login costs no attempt, so the throttled address
	// still gets in with it… but not another one with a wrong password.
	if w := do(h, "192.0.2.9", func(r *http.Request) { r.SetBasicAuth("ann", "s3cret") }); w.Code != 200 {
		t.Errorf("remembered login from a throttled address: %d", w.Code)
	}
	if w := do(h, "192.0.2.9", func(r *http.Request) { r.SetBasicAuth("bob", "s3cret") }); w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Errorf("unknown user from a throttled address: %d", w.Code)
	}
}

func TestRateLimit(t *testing.T) {
	g := &Rules{Rate: NewRateLimiter(10, time.Minute, 3), Client: peer}
	h := g.Wrap(ok)
	for i := range 3 {
		if w := do(h, "192.0.2.1", nil); w.Code != 200 {
			t.Fatalf("request %d within the burst: %d", i+1, w.Code)
		}
	}
	w := do(h, "192.0.2.1", nil)
	if w.Code != 429 || w.Header().Get("Retry-After") != "6" {
		t.Fatalf("over the burst: %d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	if w := do(h, "192.0.2.2", nil); w.Code != 200 {
		t.Errorf("another address is limited too: %d", w.Code)
	}
}

func TestRateTableIsBounded(t *testing.T) {
	rl := NewRateLimiter(1, time.Minute, 1)
	for i := range maxTracked + 100 {
		rl.Allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), time.Now())
	}
	if n := rl.addrs.Len(); n != maxTracked {
		t.Errorf("tracks %d addresses", n)
	}
}

func TestMaxBody(t *testing.T) {
	g := &Rules{MaxBody: 5, Client: peer}
	h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var tooBig *http.MaxBytesError
		if _, err := io.ReadAll(r.Body); errors.As(err, &tooBig) {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		}
	}))
	if w := do(h, "192.0.2.1", nil); w.Code != 413 {
		t.Errorf("declared length over the limit: %d", w.Code)
	}
	if w := do(h, "192.0.2.1", func(r *http.Request) { r.ContentLength = -1 }); w.Code != 413 {
		t.Errorf("a body without a length over the limit: %d", w.Code)
	}
	if w := do(h, "192.0.2.1", func(r *http.Request) { r.Body = http.NoBody; r.ContentLength = 0 }); w.Code != 200 {
		t.Errorf("empty body: %d", w.Code)
	}
}

// TestLimitsPerIPv6Block: an IPv6 client cannot escape the rate limit or
// the password-failure limit by moving through its /64.
func TestLimitsPerIPv6Block(t *testing.T) {
	h := (&Rules{Rate: NewRateLimiter(10, time.Minute, 3), Client: peer}).Wrap(ok)
	for i := range 3 {
		if w := do(h, fmt.Sprintf("[2001:db8::%x]", i+1), nil); w.Code != 200 {
			t.Fatalf("request %d within the burst: %d", i+1, w.Code)
		}
	}
	if w := do(h, "[2001:db8::ffff:1]", nil); w.Code != 429 {
		t.Errorf("another address of the same /64: %d, want 429", w.Code)
	}
	if w := do(h, "[2001:db8:0:1::1]", nil); w.Code != 200 {
		t.Errorf("another /64 is limited too: %d", w.Code)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	auth := (&Rules{Auth: NewBasicAuth("staging", map[string]string{"ann": string(hash)}), Client: peer}).Wrap(ok)
	last := 0
	for i := range failuresPerMinute + 1 {
		last = do(auth, fmt.Sprintf("[2001:db8::%x]", i+1), func(r *http.Request) { r.SetBasicAuth("ann", "guess") }).Code
	}
	if last != 429 {
		t.Errorf("wrong passwords from one /64, each from a new address: the last got %d, want 429", last)
	}
}
