package e2e

import (
	"context"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"bartleby/internal/testutil"
)

// curl runs the real curl against the admin listener (self-signed, so -k)
// and returns the body followed by a last line with the status code.
func curl(t *testing.T, args ...string) (body string, code string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args = append([]string{"-k", "-sS", "--max-time", "20", "-w", "\n%{http_code}"}, args...)
	out, err := exec.CommandContext(ctx, testutil.Need(t, "curl"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %q: %v\n%s", args, err, out)
	}
	s := string(out)
	i := strings.LastIndexByte(s, '\n')
	return s[:i], s[i+1:]
}

func TestE2EAllowlistAndMetrics(t *testing.T) {
	t.Parallel()
	testutil.Need(t, "curl")
	addr := testutil.FreePort(t)
	testutil.StartDaemon(t, `
hostname = "localhost"
[admin]
listen = "`+addr+`"
allow = ["127.0.0.1/32"]
`)
	base := "https://" + addr
	body, code := curl(t, base+"/")
	if code != "200" || !strings.Contains(body, `<td data-label="Part">admin</td>`) || !strings.Contains(body, addr) {
		t.Fatalf("home page from 127.0.0.1: %s\n%s", code, body)
	}
	body, code = curl(t, "--interface", "127.0.0.2", base+"/")
	if code != "403" || strings.Contains(body, `<td data-label="Part">admin</td>`) {
		t.Fatalf("home page from 127.0.0.2, not in admin.allow: %s\n%s", code, body)
	}
	body, code = curl(t, base+"/metrics")
	if code != "200" || !strings.Contains(body, `bartleby_part_up{part="admin"} 1`) || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics: %s\n%s", code, body)
	}
	if _, code = curl(t, "--interface", "127.0.0.2", base+"/metrics"); code != "403" {
		t.Fatalf("/metrics from 127.0.0.2: %s, want 403", code)
	}
	// A POST without a CSRF token changes nothing.
	if _, code = curl(t, "-X", "POST", "-d", "x=1", base+"/logout"); code != "403" {
		t.Fatalf("POST without CSRF token: %s, want 403", code)
	}
}

func TestE2ELogin(t *testing.T) {
	t.Parallel()
	testutil.Need(t, "curl")
	hash := hashPassword(t, "s3cret pass")
	addr := testutil.FreePort(t)
	d := testutil.StartDaemon(t, `
hostname = "localhost"
[admin]
listen = "`+addr+`"
users = { ops = "`+hash+`" }
`)
	base := "https://" + addr
	jar := filepath.Join(d.Dir, "cookies")
	if _, code := curl(t, "-c", jar, base+"/"); code != "303" {
		t.Fatalf("home page without login: %s, want 303 to the login form", code)
	}
	form, _ := curl(t, "-b", jar, "-c", jar, base+"/login")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("no CSRF token in the login form:\n%s", form)
	}
	post := func(password string) string {
		_, code := curl(t, "-b", jar, "-c", jar, "--data", url.Values{"csrf": {m[1]}, "user": {"ops"}, "password": {password}}.Encode(), base+"/login")
		return code
	}
	if code := post("wrong"); code != "401" {
		t.Fatalf("wrong password: %s, want 401", code)
	}
	if code := post("s3cret pass"); code != "303" {
		t.Fatalf("right password: %s, want 303", code)
	}
	body, code := curl(t, "-b", jar, base+"/")
	if code != "200" || !strings.Contains(body, "<span>ops</span>") || !strings.Contains(body, `<td data-label="Part">admin</td>`) {
		t.Fatalf("home page after login: %s\n%s", code, body)
	}
	if !d.WaitLog(`"msg":"admin login failed"`, 5*time.Second) || strings.Contains(d.Logs(), "s3cret") {
		t.Errorf("login failure not logged, or the password is in the log:\n%s", d.Logs())
	}
}

// hashPassword runs `bartleby admin hash-password` with the password on
// stdin and checks the hash it prints.
func hashPassword(t *testing.T, password string) string {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t), "admin", "hash-password")
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hash-password: %v", err)
	}
	hash := strings.TrimSpace(string(out))
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)); err != nil {
		t.Fatalf("hash-password printed %q, which does not match: %v", hash, err)
	}
	return hash
}
