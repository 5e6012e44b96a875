package e2e

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"bartleby/internal/testutil"
)

// browser starts headless Chromium for one test; listen gets every event
// of its tab.
func browser(t *testing.T, listen func(ev any)) context.Context {
	t.Helper()
	bin := testutil.Need(t, "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(1280, 800), chromedp.IgnoreCertErrors,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	ctx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelA)
	ctx, cancelC := chromedp.NewContext(ctx, chromedp.WithListener(listen))
	t.Cleanup(cancelC)
	return ctx
}

// TestBrowserSelfContained loads the maintenance page of the real daemon
// in Chromium: the
// document must be the only request, and the page must show what the
// visitor needs. Screenshots (light on a desktop, dark on a phone) are
// saved in the test's temp dir.
func TestBrowserSelfContained(t *testing.T) {
	t.Parallel()
	e := startMaintDaemon(t)
	e.cli("maint", "on", "localhost", "--for", "3h", "--message", "We are moving the shop to new hardware. Orders placed before 22:00 are safe.")
	_, port, _ := net.SplitHostPort(e.httpsAddr)
	url := "https://localhost:" + port + "/shop/cart"

	var mu sync.Mutex
	var requests []string
	ctx := browser(t, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// A visitor in Paris: the page adds the end in their own time.
	must(chromedp.Do(ctx))
	_, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Europe/Paris"})
	must(err)
	must(chromedp.Do(ctx, chromedp.Navigate(url)))
	h1, err := chromedp.Run(ctx, chromedp.Text("h1"))
	must(err)
	back, err := chromedp.Run(ctx, chromedp.Text(".back"))
	must(err)
	landmarks, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("main, footer, [role]")].map(e => e.tagName.toLowerCase()).join(",") + ";" + document.documentElement.lang`))
	must(err)
	// Let late requests (fonts, images, favicon) show up before counting.
	must(chromedp.Do(ctx, chromedp.Sleep(500*time.Millisecond)))
	light, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must(err)
	lightContrast, err := chromedp.Run(ctx, chromedp.Evaluate[float64](minContrastJS))
	must(err)
	_, err = chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
	must(err)
	must(chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)))
	dark, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must(err)
	darkContrast, err := chromedp.Run(ctx, chromedp.Evaluate[float64](minContrastJS))
	must(err)
	// WCAG AA for normal text.
	if lightContrast < 4.5 || darkContrast < 4.5 {
		t.Errorf("lowest text contrast: %.2f light, %.2f dark; want at least 4.5", lightContrast, darkContrast)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(requests) != 1 || requests[0] != url {
		t.Errorf("the page made %d requests, want only the document: %v", len(requests), requests)
	}
	if h1 != "Down for maintenance" || !strings.HasPrefix(back, "Back around ") || !strings.Contains(back, "UTC") || !strings.HasSuffix(back, "your time)") {
		t.Errorf("h1 %q, back %q", h1, back)
	}
	if landmarks != "main,footer;en" {
		t.Errorf("landmarks and lang: %q", landmarks)
	}
	dir := t.TempDir()
	for name, b := range map[string][]byte{"maintenance-light.png": light, "maintenance-dark-phone.png": dark} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
}

// minContrastJS computes the lowest WCAG contrast ratio between the text of
// the page's text elements and the nearest opaque background behind them.
const minContrastJS = `(() => {
  const rgb = s => s.match(/[\d.]+/g).map(Number);
  const lum = c => { const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const bg = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length < 4 || c[3] > 0) return c; } return [255, 255, 255]; };
  let min = 21;
  for (const e of document.querySelectorAll("h1, p, time, footer")) {
    const a = lum(rgb(getComputedStyle(e).color)), b = lum(bg(e));
    min = Math.min(min, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05));
  }
  return min;
})()`
