package config

import (
	"testing"
	"time"
)

// TestRouteDefaults: the route keys of the proxy cache, compression and
// rate limit take their defaults, and a value written is kept, false and
// the short cache form included.
func TestRouteDefaults(t *testing.T) {
	cfg, err := parse(t, `[[site]]
hosts = ["a.test"]
[[site.route]]
path = "/a/"
proxy = "http://127.0.0.1:8080"
cache = "5m"
rate_limit = "10/m"
[[site.route]]
path = "/b/"
proxy = "http://127.0.0.1:8080"
compress = false
rate_limit = "3/s"
rate_burst = 1
  [site.route.cache]
  stale_if_error = "2h"
[[site.route]]
respond = "hi"
`)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := cfg.Sites[0].Routes[0], cfg.Sites[0].Routes[1], cfg.Sites[0].Routes[2]
	if !*a.Compress || *b.Compress || !*c.Compress {
		t.Errorf("compress: %v %v %v, want true false true", *a.Compress, *b.Compress, *c.Compress)
	}
	if a.Cache.TTL.Duration != 5*time.Minute || a.Cache.StaleIfError.Duration != time.Hour || a.Cache.MaxSize.Bytes != 64<<20 {
		t.Errorf("short cache form: %+v", a.Cache)
	}
	if b.Cache.TTL.Duration != 10*time.Minute || b.Cache.StaleIfError.Duration != 2*time.Hour {
		t.Errorf("cache table: %+v", b.Cache)
	}
	if c.Cache != nil {
		t.Error("a route without cache got one")
	}
	if a.RateBurst != 10 || b.RateBurst != 1 || c.RateBurst != 0 {
		t.Errorf("rate_burst: %d %d %d, want 10 1 0", a.RateBurst, b.RateBurst, c.RateBurst)
	}
}

func TestParseRate(t *testing.T) {
	for s, want := range map[string][2]int64{"10/m": {10, int64(time.Minute)}, "1/d": {1, int64(24 * time.Hour)}} {
		n, per, err := ParseRate(s)
		if err != nil || int64(n) != want[0] || int64(per) != want[1] {
			t.Errorf("%q: %d %v %v", s, n, per, err)
		}
	}
	for _, s := range []string{"", "10", "0/m", "-1/m", "10/w", "x/m", "2000000/s", "10/m/s"} {
		if _, _, err := ParseRate(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}
