package maint

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"
)

// bypassCookie visits the secret URL and returns the cookie it sets.
func (f *fixture) bypassCookie() *http.Cookie {
	f.t.Helper()
	w := f.do("GET", bypassPrefix+testToken, "198.51.100.7:1")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		f.t.Fatalf("secret URL: %d %v", w.Code, w.Header())
	}
	cs := w.Result().Cookies()
	if len(cs) != 1 || cs[0].Name != CookieName {
		f.t.Fatalf("cookies: %v", cs)
	}
	c := cs[0]
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		f.t.Errorf("cookie attributes: %s", w.Header().Get("Set-Cookie"))
	}
	return c
}

func TestSecretURL(t *testing.T) {
	t.Parallel()
	f := newFixture(t, basicConf)
	f.on("example.org", time.Time{})
	c := f.bypassCookie()
	if d := time.Until(c.Expires); d < 11*time.Hour || d > 12*time.Hour+time.Minute {
		t.Errorf("cookie lifetime %v, want 12h", d)
	}
	w := f.do("GET", "/", "198.51.100.7:1", "Cookie", c.String())
	if w.Code != 200 || w.Body.String() != "backend" || w.Header().Get(BypassHeader) != "bypass" {
		t.Fatalf("with the cookie: %d %q %v", w.Code, w.Body, w.Header())
	}
	// Among other cookies too.
	w = f.do("GET", "/", "198.51.100.7:1", "Cookie", "a=b; "+c.String()+"; z=1")
	if w.Code != 200 {
		t.Errorf("cookie among others: %d", w.Code)
	}
}

func TestWrongTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t, basicConf)
	f.on("example.org", time.Time{})
	plain := f.do("GET", "/", "198.51.100.7:1").Body.String()
	for _, tok := range []string{
		strings.ToUpper(testToken), testToken + "/", testToken[:len(testToken)-1], testToken + "x",
		"", "x", testToken + "/extra", "%2F" + testToken,
	} {
		w := f.do("GET", bypassPrefix+tok, "198.51.100.7:1")
		if w.Code != 503 || w.Header().Get("Set-Cookie") != "" || w.Body.String() != plain {
			t.Errorf("token %q: %d, Set-Cookie %q, same page as / %v", tok, w.Code, w.Header().Get("Set-Cookie"), w.Body.String() == plain)
		}
	}
	// The right token for one site is the cookie for that site only.
	other := f.m.Handler(f.cfg.Sites[1], f.next, nil)
	f.on("other.example", time.Time{})
	c := f.bypassCookie()
	r, _ := http.NewRequest("GET", "https://other.example/", nil)
	r.RemoteAddr = "198.51.100.7:1"
	r.Header.Set("Cookie", c.String())
	w := &recorder{h: http.Header{}}
	other.ServeHTTP(w, r)
	if w.code != 503 {
		t.Errorf("example.org's cookie bypassed other.example: %d", w.code)
	}
}

// recorder is a minimal ResponseWriter for handlers other than f.h.
type recorder struct {
	h    http.Header
	code int
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(code int)        { r.code = code }

func TestForgedCookies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, basicConf)
	f.on("example.org", time.Time{})
	good := f.bypassCookie().Value
	key := f.m.snap.Load().sites["example.org"].cfg.cookieKey
	parts := strings.Split(good, ".")
	exp, mac := parts[1], parts[2]
	flip := []byte(mac)
	if flip[0] == 'A' {
		flip[0] = 'B'
	} else {
		flip[0] = 'A'
	}
	past := time.Now().Add(-time.Minute)
	future := time.Now().Add(48 * time.Hour)
	otherKey := deriveKey("another-secret-0123456789")
	forged := map[string]string{
		"empty":            "",
		"truncated":        good[:len(good)-1],
		"truncated mac":    "v1." + exp + "." + mac[:20],
		"no mac":           "v1." + exp + ".",
		"flipped mac":      "v1." + exp + "." + string(flip),
		"extended expiry":  "v1." + "9" + exp + "." + mac,
		"expired":          signCookie(key, "example.org", past),
		"other site":       signCookie(key, "other.example", future),
		"other key":        signCookie(otherKey, "example.org", future),
		"wrong version":    "v2." + exp + "." + mac,
		"no version":       exp + "." + mac,
		"leading zero":     "v1.0" + exp + "." + mac,
		"plus sign":        "v1.+" + exp + "." + mac,
		"negative":         "v1.-" + exp + "." + mac,
		"padded mac":       "v1." + exp + "." + mac + "=",
		"std base64":       "v1." + exp + "." + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 32))),
		"extra field":      good + ".x",
		"mac of zeros":     "v1." + exp + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 32)),
		"spaces":           " " + good,
		"huge expiry":      "v1.99999999999999999999." + mac,
		"mac of full site": "v1." + exp + "." + base64.RawURLEncoding.EncodeToString(cookieMAC(key, "example.org\x00", 1)),
	}
	for name, v := range forged {
		w := f.do("GET", "/", "198.51.100.7:1", "Cookie", CookieName+"="+v)
		if w.Code != 503 || w.Header().Get(BypassHeader) != "" {
			t.Errorf("%s cookie %q bypassed: %d", name, v, w.Code)
		}
	}
	// A valid cookie lost in a huge Cookie header is ignored as a whole.
	huge := "pad=" + strings.Repeat("x", maxCookieHeader) + "; " + CookieName + "=" + good
	if w := f.do("GET", "/", "198.51.100.7:1", "Cookie", huge); w.Code != 503 {
		t.Errorf("huge cookie header bypassed: %d", w.Code)
	}
	// Replayed after its expiry.
	f.m.now = func() time.Time { return time.Now().Add(13 * time.Hour) }
	if w := f.do("GET", "/", "198.51.100.7:1", "Cookie", CookieName+"="+good); w.Code != 503 {
		t.Errorf("cookie replayed after expiry bypassed: %d", w.Code)
	}
}

func TestCookieRoundTrip(t *testing.T) {
	t.Parallel()
	key := deriveKey(testToken)
	exp := time.Unix(1_900_000_000, 0)
	v := signCookie(key, "example.org", exp)
	if !verifyCookie(key, "example.org", v, exp.Add(-time.Second)) {
		t.Fatal("a fresh cookie does not verify")
	}
	if verifyCookie(key, "example.org", v, exp) {
		t.Fatal("a cookie verifies at its expiry")
	}
}

func FuzzParseCookie(f *testing.F) {
	key := deriveKey(testToken)
	good := signCookie(key, "example.org", time.Unix(1_900_000_000, 0))
	for _, s := range []string{good, "", "v1.", "v1.1.", "v1.0.x", good + ".", "v1.1." + strings.Repeat("A", 43)} {
		f.Add(s)
	}
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, v string) {
		exp, mac, ok := parseCookie(v)
		if !ok {
			if verifyCookie(key, "example.org", v, now) {
				t.Fatal("an unparsable cookie verified")
			}
			return
		}
		if len(mac) != 32 || exp <= 0 {
			t.Fatalf("parsed %q into exp %d, mac of %d bytes", v, exp, len(mac))
		}
		// Only the exact signed form verifies.
		if verifyCookie(key, "example.org", v, now) && v != signCookie(key, "example.org", time.Unix(exp, 0)) {
			t.Fatalf("%q verifies but is not the canonical cookie", v)
		}
	})
}
