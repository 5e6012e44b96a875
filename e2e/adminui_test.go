package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"bartleby/internal/testutil"
)

// adminConf has every part with an admin page: a site in maintenance, a
// backup MX whose primary is down (so mail waits), a passing and a
// failing scenario, and the admin UI with a login.
const adminConf = `hostname = "mx2.test"
[web]
http = %[1]q
https = %[2]q
[[site]]
hosts = ["localhost"]
  [[site.route]]
  proxy = %[3]q
[[site]]
hosts = ["shop.test"]
  [[site.route]]
  proxy = %[3]q
[mail]
  [mail.backup_mx]
  listen = [%[4]q]
  domains = ["example.org", "example.com"]
  primary = %[5]q
  probe_every = "1h"
[watch]
features = %[6]q
base = %[3]q
every = "10s"
[ssh]
listen = %[9]q
  [[ssh.user]]
  name = "alice"
  keys = [%[10]q]
  root = %[11]q
[admin]
listen = %[7]q
users = { ops = %[8]q }
`

const adminFeatures = `Feature: Shop
  Scenario: Home page
    Given I go to /
    Then I should see "Welcome"
    When I go to /about
    Then I should see "About us"

  Scenario: Checkout
    Given I go to /checkout
    Then I should see "Pay now"
`

// adminPages are the pages the browser test looks at, by a short name for
// the screenshots.
var adminPages = []struct{ name, path string }{
	{"home", "/"}, {"mail", "/mail/"}, {"mail-filtered", "/mail/?state=deferred&to=example.org"},
	{"watch", "/watch"}, {"maintenance", "/maintenance"}, {"ssh", "/ssh"}, {"certs", "/certs"},
	{"logs", "/logs"}, {"logs-warn", "/logs?level=warn&part=mail"},
}

var viewports = []int{390, 1280, 1920}

// TestAdminPagesInBrowser loads every admin page in headless Chromium at a
// phone's, a laptop's and a desktop's width: nothing may overflow
// horizontally, axe-core may find no serious or critical violation, no
// page may carry a script. Screenshots go to $TEST_OUTPUT_DIR (else a
// temp dir), named adminui-PAGE-WIDTH.png.
func TestAdminPagesInBrowser(t *testing.T) {
	t.Parallel()
	bin, axe, out := browserTools(t)
	admin := startAdminDaemon(t)

	ctx := adminBrowser(t, bin)
	// The login page at each width, then log in through the form.
	for _, width := range viewports {
		viewport(t, ctx, width)
		check(t, ctx, axe, "https://"+admin+"/login", "login", width, out)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`input[name=user]`, "ops"), chromedp.SendKeys(`input[name=password]`, "secret"),
		chromedp.Submit(`input[name=password]`), chromedp.WaitVisible(`.cards`)); err != nil {
		t.Fatal(err)
	}
	id := firstMessage(t, ctx, admin)
	pages := append(adminPages[:len(adminPages):len(adminPages)], struct{ name, path string }{"message", "/mail/message?id=" + id})
	for _, width := range viewports {
		viewport(t, ctx, width)
		for _, p := range pages {
			check(t, ctx, axe, "https://"+admin+p.path, p.name, width, out)
		}
	}
	t.Logf("screenshots in %s", out)
}

// browserTools are what the browser checks need: Chromium, axe-core and
// the directory for screenshots ($TEST_OUTPUT_DIR, else a temp dir).
func browserTools(t *testing.T) (bin string, axe []byte, out string) {
	t.Helper()
	bin = testutil.Need(t, "chromium")
	axe, err := os.ReadFile("testdata/axe-core/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	out = os.Getenv("TEST_OUTPUT_DIR")
	if out == "" {
		out = t.TempDir()
	}
	return bin, axe, out
}

// check loads url and asserts what every admin page must hold.
func check(t *testing.T, ctx context.Context, axe []byte, url, name string, width int, dir string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady("main")); err != nil {
		t.Fatalf("%s at %d px: %v", name, width, err)
	}
	scripts, err1 := chromedp.Run(ctx, chromedp.Evaluate[int](`document.scripts.length`))
	overflow, err2 := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	png, err3 := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatalf("%s at %d px: %v", name, width, err)
	}
	file := filepath.Join(dir, fmt.Sprintf("adminui-%s-%d.png", name, width))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if overflow {
		what, _ := chromedp.Run(ctx, chromedp.Evaluate[string](widest))
		t.Errorf("%s at %d px overflows horizontally (%s); see %s", name, width, what, file)
	}
	if scripts != 0 {
		t.Errorf("%s carries %d script(s): admin pages must work without JavaScript", name, scripts)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](string(axe)+";true")); err != nil {
		t.Fatalf("loading axe on %s: %v", name, err)
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", name, err)
	}
	for _, v := range violations {
		t.Errorf("axe, %s at %d px: %s", name, width, v)
	}
}

// axeRun runs axe-core on the page and lists its serious and critical
// violations with the elements concerned.
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
  .filter(v => v.impact === "serious" || v.impact === "critical")
  .map(v => v.impact + " " + v.id + ": " + v.help + " — " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")))`

// widest names the elements wider than the window, for the failure message.
const widest = `Array.from(document.querySelectorAll("body *")).filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? "." + e.className : "")).join(", ")`

// viewport sets the page's width. Not as a mobile device: a phone's
// browser zooms out to fit a page that overflows, which would hide the
// overflow from innerWidth.
func viewport(t *testing.T, ctx context.Context, width int) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), 900)); err != nil {
		t.Fatal(err)
	}
}

func adminBrowser(t *testing.T, bin string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelA := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.IgnoreCertErrors, chromedp.WindowSize(1280, 900))
	t.Cleanup(cancelA)
	ctx, cancelC := chromedp.NewContext(ctx)
	t.Cleanup(cancelC)
	return ctx
}

// startAdminDaemon starts the daemon of adminConf with mail waiting in
// the queue and both scenarios run once; it returns the admin address.
func startAdminDaemon(t *testing.T) string {
	t.Helper()
	backend, features := shopSite(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	mx, admin := testutil.FreePort(t), testutil.FreePort(t)
	root := t.TempDir()
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHV9zUrO0pyiWfDCDZrgpnMX1bH4D6rCd4V8g6+dL4Pb alice@test"
	d := testutil.StartDaemon(t, fmt.Sprintf(adminConf, testutil.FreePort(t), testutil.FreePort(t), backend,
		mx, testutil.FreePort(t), features, admin, string(hash), testutil.FreePort(t), key, root))
	for i, to := range []string{"alice@example.org", "bob@example.org", "carol@example.com", "dave@example.com", "erin@example.org"} {
		sendPlain(t, mx, fmt.Sprintf("sender%d@elsewhere.net", i%2), to)
	}
	if out, err := d.Run("maint", "on", "shop.test", "--for", "2h", "--message", "Moving to new hardware."); err != nil {
		t.Fatalf("maint on: %v\n%s", err, out)
	}
	if !d.WaitLog(`"msg":"watch: scenario failed","`, time.Minute) {
		t.Fatalf("the scenarios did not run:\n%s", d.Logs())
	}
	return admin
}

// shopSite serves the site of adminFeatures, whose checkout fails, and
// writes the feature file; it returns the site's URL and the file.
func shopSite(t *testing.T) (string, string) {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			io.WriteString(w, "<!doctype html><title>Shop</title><p>Welcome")
		case "/about":
			io.WriteString(w, "<!doctype html><title>About</title><p>About us")
		default:
			http.Error(w, "the payment provider is down", http.StatusBadGateway)
		}
	}))
	t.Cleanup(backend.Close)
	features := filepath.Join(t.TempDir(), "shop.feature")
	if err := os.WriteFile(features, []byte(adminFeatures), 0o600); err != nil {
		t.Fatal(err)
	}
	return backend.URL, features
}

// sendPlain hands a message to the backup MX over plain SMTP.
func sendPlain(t *testing.T, addr, from, to string) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(from); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(to); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "From: <%s>\r\nTo: <%s>\r\nSubject: Invoice 42\r\nMessage-ID: <%d@elsewhere.net>\r\n\r\nPlease find the invoice attached.\r\n", from, to, time.Now().UnixNano())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
}

var messageLink = regexp.MustCompile(`/mail/message\?id=([0-9A-Z]+)`)

// firstMessage is the id of a message on the queue page, once delivery
// to the dead primary was tried.
func firstMessage(t *testing.T, ctx context.Context, admin string) string {
	t.Helper()
	var html string
	for range 100 {
		if err := chromedp.Do(ctx, chromedp.Navigate("https://"+admin+"/mail/")); err != nil {
			t.Fatal(err)
		}
		var err error
		if html, err = chromedp.Run(ctx, chromedp.OuterHTML("main")); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(html, "cannot connect") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	m := messageLink.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no message on the queue page:\n%s", html)
	}
	return m[1]
}
