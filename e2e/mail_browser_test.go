package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"bartleby/internal/testutil"
)

// TestQueuePageBrowser uses the queue page as an operator does, in
// headless Chromium: the queue and the disk are listed, Flush empties the
// queue into the primary, a second Flush within 30 s is refused.
func TestQueuePageBrowser(t *testing.T) {
	t.Parallel()
	bin := testutil.Need(t, "chromium")
	testutil.Need(t, "swaks")
	mx, primary, admin := testutil.FreePort(t), testutil.FreePort(t), testutil.FreePort(t)
	cfg := strings.Replace(fmt.Sprintf(mxConfig, mx, primary), `probe_every = "300ms"`, `probe_every = "1h"`, 1)
	testutil.StartDaemon(t, cfg+fmt.Sprintf("[admin]\nlisten = %q\n", admin))
	for _, to := range []string{"a@example.org", "b@example.org"} {
		if out, err := swaks(t, "--server", mx, "--from", "x@elsewhere.net", "--to", to); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ctx, cancelA := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.IgnoreCertErrors, chromedp.WindowSize(390, 844)) // a phone
	defer cancelA()
	ctx, cancelC := chromedp.NewContext(ctx)
	defer cancelC()
	page := func() string {
		t.Helper()
		body, err := chromedp.Run(ctx, chromedp.Text("main"))
		if err != nil {
			t.Fatal(err)
		}
		return body
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("https://"+admin+"/mail/")); err != nil {
		t.Fatal(err)
	}
	body := page()
	for _, want := range []string{"2 message(s)", "Spool disk", "a@example.org", "b@example.org", "cannot connect to primary"} {
		if !strings.Contains(body, want) {
			t.Fatalf("page lacks %q:\n%s", want, body)
		}
	}

	startSink(t, primary)
	flush := `form[action="/mail/flush"] button`
	if err := chromedp.Do(ctx, chromedp.Click(flush), chromedp.WaitVisible("#notice.ok")); err != nil {
		t.Fatal(err)
	}
	if body = page(); !strings.Contains(body, "Flush: 2 attempted, 2 delivered") || !strings.Contains(body, "The queue is empty") {
		t.Fatalf("after Flush:\n%s", body)
	}
	if err := chromedp.Do(ctx, chromedp.Click(flush), chromedp.WaitVisible("#notice.warn")); err != nil {
		t.Fatal(err)
	}
	if body = page(); !strings.Contains(body, "the next one is allowed in") {
		t.Fatalf("second Flush not refused:\n%s", body)
	}
}
