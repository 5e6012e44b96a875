package maint

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func FuzzAccept(f *testing.F) {
	for _, s := range []string{"application/json", "text/html;q=0.9, application/json;q=1.0", "*/*", "application/json;q=0", "application/json;q=1.5", ";;;,,", "application/ld+json; q=0.001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", accept)
		wantsJSON(r)
		for _, part := range strings.Split(accept, ",") {
			if _, q := mediaRange(part); q < 0 || q > 1 {
				t.Fatalf("q=%v from %q", q, part)
			}
		}
	})
}
