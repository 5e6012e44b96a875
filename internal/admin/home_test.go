package admin

import (
	"strings"
	"testing"

	"bartleby/internal/part"
)

func TestHomeShowsNotices(t *testing.T) {
	s := newTestServer(t, opts{notices: []part.Notice{{Part: "watch", Text: "clock CRITICAL: offset +20m0s <b>"}}})
	res := s.client("127.0.0.1").get("/")
	wantStatus(t, res, 200)
	if !strings.Contains(res.body, `<p class="warn" role="alert"><strong>watch:</strong> clock CRITICAL: offset &#43;20m0s &lt;b&gt;</p>`) {
		t.Fatalf("home page lacks the escaped notice:\n%s", res.body)
	}
	quiet := newTestServer(t, opts{})
	if res := quiet.client("127.0.0.1").get("/"); strings.Contains(res.body, `role="alert"`) {
		t.Fatal("a notice shown with none given")
	}
}
