package config

import (
	"strings"
	"testing"
)

func TestAdminChecks(t *testing.T) {
	const hash = `$2a$04$8eS8iLr2ZpkBZ9zXbFhFUOf3xo4i2u/aF6Q8lqf9J9Qd6H6JK5uEW`
	for _, tc := range []struct {
		name, text string
		errs       []string
		warns      []string
	}{
		{"short session", "[admin]\nsession_ttl = \"30s\"\n", []string{":3: admin.session_ttl: must be at least 1m"}, nil},
		{"open without login", "[admin]\nallow = [\"127.0.0.1\", \"192.0.2.0/24\"]\n", nil,
			[]string{":3: admin.allow: lets addresses beyond loopback use the admin UI without a login"}},
		{"wide loopback-looking prefix", "[admin]\nallow = [\"::1/64\"]\n", nil,
			[]string{":3: admin.allow: lets addresses beyond loopback"}},
		{"open with login", "[admin]\nallow = [\"0.0.0.0/0\"]\nusers = { ops = \"" + hash + "\" }\n", nil, nil},
		{"loopback only", "[admin]\nallow = [\"127.0.0.0/8\", \"::1\"]\nsession_ttl = \"1h\"\n", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parse(t, "state_dir = \"{{dir}}/s\"\n"+tc.text)
			var got Errors
			if err != nil {
				got = err.(Errors)
			} else {
				got = cfg.Warnings
			}
			want := tc.errs
			if want == nil {
				want = tc.warns
				if err != nil {
					t.Fatalf("unexpected errors: %v", err)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("got %v, want %q", got, want)
			}
			for i, p := range got {
				if s := strings.TrimPrefix(p.String(), p.File); !strings.HasPrefix(s, want[i]) {
					t.Errorf("got %s, want %s…", s, want[i])
				}
			}
		})
	}
}
