package maint

import (
	"context"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bartleby/internal/testutil"
)

// curlServer serves the first site of a fixture (its backend answers
// "backend") over TLS on 127.0.0.1, for curl.
func curlServer(t *testing.T, conf string) (*fixture, *httptest.Server) {
	f := newFixture(t, conf)
	srv := httptest.NewUnstartedServer(f.h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return f, srv
}

// curl runs curl with args on path of srv as https://example.org and
// returns the response headers and body (-i output).
func curl(t *testing.T, srv *httptest.Server, path string, args ...string) string {
	t.Helper()
	bin := testutil.Need(t, "curl")
	u, _ := url.Parse(srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base := []string{"-sS", "-k", "-i", "--max-time", "10", "--resolve", "example.org:" + u.Port() + ":127.0.0.1"}
	args = append(append(base, args...), "https://example.org:"+u.Port()+path)
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, out)
	}
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}

const curlConf = `
[[site]]
hosts = ["example.org"]
  [site.maintenance]
  message = "Moving to new hardware."
  allow = ["127.0.0.2"]
  bypass_secret_file = "bypass.secret"
`

func TestCurl503(t *testing.T) {
	t.Parallel()
	f, srv := curlServer(t, curlConf)
	f.on("example.org", time.Now().Add(2*time.Hour))
	out := curl(t, srv, "/")
	for _, want := range []string{"HTTP/2 503", "retry-after: 7", "cache-control: no-store", "content-type: text/html; charset=utf-8", "Moving to new hardware."} {
		if !strings.Contains(strings.ToLower(out), strings.ToLower(want)) {
			t.Errorf("response lacks %q:\n%.600s", want, out)
		}
	}
	out = curl(t, srv, "/api", "-H", "Accept: application/json")
	if !strings.Contains(out, `"status":503`) || !strings.Contains(out, "content-type: application/json") {
		t.Errorf("JSON variant:\n%s", out)
	}
	out = curl(t, srv, "/", "-I")
	if !strings.HasPrefix(out, "HTTP/2 503") || strings.Contains(out, "<html") {
		t.Errorf("HEAD:\n%s", out)
	}
}

func TestCurlAllowlist(t *testing.T) {
	t.Parallel()
	f, srv := curlServer(t, curlConf)
	f.on("example.org", time.Time{})
	if out := curl(t, srv, "/", "--interface", "127.0.0.2"); !strings.HasPrefix(out, "HTTP/2 200") || !strings.Contains(out, "x-bartleby-maintenance: bypass") {
		t.Errorf("from 127.0.0.2 (allowed):\n%s", out)
	}
	if out := curl(t, srv, "/", "--interface", "127.0.0.1"); !strings.HasPrefix(out, "HTTP/2 503") {
		t.Errorf("from 127.0.0.1 (not allowed):\n%.300s", out)
	}
	// A forged X-Forwarded-For from an untrusted peer changes nothing.
	if out := curl(t, srv, "/", "--interface", "127.0.0.1", "-H", "X-Forwarded-For: 127.0.0.2"); !strings.HasPrefix(out, "HTTP/2 503") {
		t.Errorf("forged X-Forwarded-For:\n%.300s", out)
	}
}

func TestCurlSecretURL(t *testing.T) {
	t.Parallel()
	f, srv := curlServer(t, curlConf)
	f.on("example.org", time.Time{})
	jar := filepath.Join(t.TempDir(), "cookies")
	out := curl(t, srv, bypassPrefix+testToken, "-c", jar, "-b", jar, "-L")
	if !strings.HasPrefix(out, "HTTP/2 303") || !strings.Contains(out, "location: /") ||
		!strings.Contains(out, "HttpOnly; Secure; SameSite=Lax") || !strings.HasSuffix(out, "backend") {
		t.Fatalf("secret URL then redirect:\n%s", out)
	}
	if out := curl(t, srv, "/other", "-b", jar); !strings.HasPrefix(out, "HTTP/2 200") || !strings.Contains(out, "x-bartleby-maintenance: bypass") {
		t.Errorf("with the cookie jar:\n%s", out)
	}
	for _, tok := range []string{strings.ToUpper(testToken), testToken + "/"} {
		if out := curl(t, srv, bypassPrefix+tok); !strings.HasPrefix(out, "HTTP/2 503") || strings.Contains(out, "set-cookie") {
			t.Errorf("token %q:\n%.300s", tok, out)
		}
	}
	for _, v := range []string{"v1.9999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "v1.1.x", "garbage"} {
		if out := curl(t, srv, "/", "-b", CookieName+"="+v); !strings.HasPrefix(out, "HTTP/2 503") {
			t.Errorf("forged cookie %q:\n%.300s", v, out)
		}
	}
}
