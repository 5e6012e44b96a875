package config

import (
	"slices"
	"strings"
	"testing"
)

func TestACMEDefaults(t *testing.T) {
	cfg, err := parse(t, "state_dir = \"s\"\n[acme]\nemail = \"ops@example.org\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ACME.Directory != LetsEncrypt {
		t.Errorf("directory %q, want Let's Encrypt", cfg.ACME.Directory)
	}
	if !slices.Equal(cfg.ACME.Challenges, []string{ChallengeHTTP01, ChallengeTLSALPN01}) {
		t.Errorf("challenges %q, want both", cfg.ACME.Challenges)
	}
}

func TestACMEBad(t *testing.T) {
	_, err := parse(t, "state_dir = \"{{dir}}/s\"\n[acme]\nemail = \"ops at example.org\"\n"+
		"directory = \"acme.example.org\"\nchallenges = [\"http-01\", \"dns-01\"]\n")
	errs, ok := err.(Errors)
	if !ok || len(errs) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
	for _, want := range []string{
		":4: acme.directory: ",
		`:3: acme.email: "ops at example.org" is not an e-mail address`,
		`:5: acme.challenges[2]: must be http-01 or tls-alpn-01, got "dns-01"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems:\n%v\nwant one with %s", err, want)
		}
	}
	_, err = parse(t, "state_dir = \"{{dir}}/s\"\n[acme]\nchallenges = []\n")
	if err == nil || !strings.Contains(err.Error(), ":3: acme.challenges: needs at least one") {
		t.Errorf("empty challenges: %v", err)
	}
}
