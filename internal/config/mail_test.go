package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMailChecks(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string // errors, or warnings when the config loads
	}{
		{"non-loopback submit", "[mail]\nsubmit = [\"0.0.0.0:25\", \"127.0.0.1:2587\"]\n[mail.smarthost]\nhost = \"smtp.example.net:587\"\n",
			[]string{`:3: mail.submit[1]: "0.0.0.0:25" is not a loopback address`}},
		{"submit without smarthost", "[mail]\nsubmit = [\"127.0.0.1:2587\"]\n",
			[]string{":3: mail.submit: submission needs [mail.smarthost]"}},
		{"plain smarthost and half credentials", "[mail]\n[mail.smarthost]\nhost = \"smtp.example.net\"\ntls = \"none\"\nusername = \"mta\"\n",
			[]string{`:4: mail.smarthost.host: "smtp.example.net": want host:port`, `:5: mail.smarthost.tls: must be one of starttls, implicit, got "none"`,
				":3: mail.smarthost: give both username and password_file, or neither"}},
		{"backup MX", "[mail]\n[mail.backup_mx]\nlisten = [\"127.0.0.1:2525\"]\ndomains = [\"example.org\", \"*.example.net\"]\nprimary = \"mx\"\n",
			[]string{`:5: mail.backup_mx.domains[2]: "*.example.net" is not a domain`}},
		{"open relay", "[mail]\nsubmit_from = [\"0.0.0.0/0\"]\n",
			[]string{`:3: mail.submit_from[1]: "0.0.0.0/0" lets every address relay`}},
		{"submission on the backup MX port", "[mail]\nsubmit = [\"127.0.0.1:25\", \"[::1]:25\"]\n[mail.smarthost]\nhost = \"smtp.example.net:587\"\n" +
			"[mail.backup_mx]\nlisten = [\":25\"]\ndomains = [\"example.org\"]\nrecipients = [\"a@example.org\"]\nprimary = \"mx\"\n", nil},
		{"submission beside an IPv4 wildcard", "[mail]\nsubmit = [\"[::1]:25\"]\n[mail.smarthost]\nhost = \"smtp.example.net:587\"\n" +
			"[mail.backup_mx]\nlisten = [\"0.0.0.0:25\"]\ndomains = [\"example.org\"]\nrecipients = [\"a@example.org\"]\nprimary = \"mx\"\n",
			[]string{`mail.backup_mx.listen[1]: "0.0.0.0:25" is already used by mail.submit[1]`}},
		{"backscatter warning", "[mail]\n[mail.backup_mx]\nlisten = [\"127.0.0.1:2525\"]\ndomains = [\".example.org\"]\nprimary = \"mx1.example.org:25\"\n",
			[]string{":3: mail.backup_mx: no recipients list"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "aliases"), []byte("pipe: |/usr/bin/procmail\na: b\nb: a\n"), 0o600)
			text := strings.ReplaceAll("state_dir = \"{{dir}}/s\"\n"+tc.text, "{{dir}}", dir)
			path := filepath.Join(dir, "b.toml")
			os.WriteFile(path, []byte(text), 0o600)
			cfg, err := Load(path)
			var got Errors
			if err != nil {
				got = err.(Errors)
			} else {
				got = cfg.Warnings
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %q", got, tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i].String(), w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
