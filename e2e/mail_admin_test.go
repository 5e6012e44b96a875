package e2e

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"bartleby/internal/testutil"
)

func adminClient(t *testing.T, localIP string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}, Timeout: 10 * time.Second}
	return &http.Client{Jar: jar, Timeout: time.Minute,
		Transport:     &http.Transport{DialContext: d.DialContext, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestQueuePage drives the admin queue page over HTTPS: the queue and the
// disk are shown, Flush delivers to the primary, a second Flush within
// 30 s is refused, a POST without the CSRF token and a client outside the
// allowlist are refused.
func TestQueuePage(t *testing.T) {
	t.Parallel()
	testutil.Need(t, "swaks")
	mx, primary, admin := testutil.FreePort(t), testutil.FreePort(t), testutil.FreePort(t)
	cfg := strings.Replace(fmt.Sprintf(mxConfig, mx, primary), `probe_every = "300ms"`, `probe_every = "1h"`, 1)
	cfg += fmt.Sprintf("[admin]\nlisten = %q\nallow = [\"127.0.0.1/32\"]\n", admin)
	d := testutil.StartDaemon(t, cfg)
	for _, to := range []string{"a@example.org", "b@example.org"} {
		if out, err := swaks(t, "--server", mx, "--from", "x@elsewhere.net", "--to", to); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
	}
	base := "https://" + admin
	c := adminClient(t, "127.0.0.1")
	var page string
	for i := 0; i < 100 && !strings.Contains(page, "cannot connect to primary"); i++ {
		time.Sleep(50 * time.Millisecond)
		_, page = getBody(t, c, base+"/mail/")
	}
	for _, want := range []string{"2 message(s)", "Spool disk (", "usable by bartleby", "a@example.org", "b@example.org", "cannot connect to primary " + primary, "Flush the queue"} {
		if !strings.Contains(page, want) {
			t.Fatalf("page lacks %q:\n%s", want, page)
		}
	}
	code, body := getBody(t, c, base+"/mail/api")
	var api struct {
		Count int                    `json:"count"`
		Disk  struct{ Total uint64 } `json:"disk"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &api) != nil || api.Count != 2 || api.Disk.Total == 0 {
		t.Fatalf("api: %d %s", code, body)
	}

	// Without the token: refused, nothing flushed.
	resp, err := c.PostForm(base+"/mail/flush", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST without CSRF: %d", resp.StatusCode)
	}

	token := csrfRe.FindStringSubmatch(page)[1]
	bulkHold(t, c, base, token, page)

	startSink(t, primary)
	flush := func() string {
		resp, err := c.PostForm(base+"/mail/flush", url.Values{"csrf": {token}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Location")
	}
	if loc := flush(); !strings.Contains(loc, "done=flush&n=2&delivered=2") {
		t.Fatalf("flush redirected to %q", loc)
	}
	if _, page = getBody(t, c, base+"/mail/"); !strings.Contains(page, "The queue is empty") {
		t.Fatalf("after flush:\n%s", page)
	}
	if loc := flush(); !strings.Contains(loc, "done=wait") {
		t.Fatalf("second flush redirected to %q", loc)
	}
	if _, page = getBody(t, c, base+"/mail/?done=wait&s=29"); !strings.Contains(page, "the next one is allowed in 29 s") {
		t.Fatalf("refusal not shown:\n%s", page)
	}

	// Outside the allowlist.
	if code, _ := getBody(t, adminClient(t, "127.0.0.2"), base+"/mail/"); code != http.StatusForbidden {
		t.Fatalf("127.0.0.2 got %d", code)
	}
	if !strings.Contains(d.Logs(), "queue flushed from the admin page") {
		t.Error("flush not logged")
	}
}

var idRe = regexp.MustCompile(`name="id" value="([0-9A-Z]+)"`)

// bulkHold ticks every message of the page and holds them: the first POST
// only asks, the confirmed one holds; then releases them the same way.
func bulkHold(t *testing.T, c *http.Client, base, token, page string) {
	t.Helper()
	var ids []string
	for _, m := range idRe.FindAllStringSubmatch(page, -1) {
		ids = append(ids, m[1])
	}
	post := func(v url.Values) (int, string, string) {
		resp, err := c.PostForm(base+"/mail/bulk", v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	for _, op := range []string{"hold", "release"} {
		form := url.Values{"csrf": {token}, "op": {op}, "id": ids}
		code, _, ask := post(form)
		if code != 200 || !strings.Contains(ask, "message(s)?") || !strings.Contains(ask, `name="confirm" value="yes"`) {
			t.Fatalf("%s %v: first POST gave %d:\n%s", op, ids, code, ask)
		}
		if _, p := getBody(t, c, base+"/mail/?state=held"); (op == "hold") != strings.Contains(p, "No message matches") {
			t.Fatalf("%s acted before the confirmation:\n%s", op, p)
		}
		form.Set("confirm", "yes")
		if code, loc, _ := post(form); code != http.StatusSeeOther || loc != fmt.Sprintf("/mail/?done=%s&n=%d&failed=0", op, len(ids)) {
			t.Fatalf("%s confirmed: %d %q", op, code, loc)
		}
		_, p := getBody(t, c, base+"/mail/?state=held")
		if held := strings.Count(p, `type="checkbox"`); (op == "hold" && held != len(ids)) || (op == "release" && held != 0) {
			t.Fatalf("after %s, %d held of %d", op, held, len(ids))
		}
	}
	if code, _, _ := post(url.Values{"csrf": {token}, "op": {"delete"}, "id": {"../../etc/passwd"}, "confirm": {"yes"}}); code != http.StatusBadRequest {
		t.Fatalf("a path as message id: %d", code)
	}
}
