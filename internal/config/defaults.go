package config

import (
	"os"
	"path/filepath"
	"reflect"
)

// Defaults is every default of the config file, in one place: a key left out
// of a section that is present takes the value given here; the default
// column of KeyDocs (README.md, bartleby.toml(5)) is tested against it.
// Defaults that depend on other keys are in derivedDefaults below.
func Defaults() *Config {
	on := true
	return &Config{
		StateDir: "/var/lib/bartleby",
		ACME:     &ACME{Directory: LetsEncrypt, Challenges: []string{ChallengeHTTP01, ChallengeTLSALPN01}},
		Admin: &Admin{Listen: "127.0.0.1:8025", Allow: []string{"127.0.0.0/8", "::1/128"},
			SessionTTL: duration("12h")},
		Web: &Web{HTTP: ":80", HTTPS: ":443"},
		Sites: []*Site{{HTTPS: "always", HSTSMaxAge: duration("365d"), AccessLog: "off", AccessLogFmt: "combined",
			Routes: []*Route{{Code: 308, Status: 200, Index: []string{"index.html"}, ProxyHost: "pass",
				DialTimeout: duration("5s"), ResponseTimeout: duration("60s"), IdleTimeout: duration("90s"),
				FailDuration: duration("10s"), Compress: &on,
				Cache: &RouteCache{TTL: duration("10m"), MaxSize: size("64MiB"), StaleIfError: duration("1h")}}},
			Maintenance: &Maintenance{RetryAfter: duration("5m"), CookieLifetime: duration("12h")}}},
		Mail: &Mail{SubmitFrom: []string{"127.0.0.0/8", "::1/128"},
			MaxSize: size("25MB"), RetryEvery: duration("30m"), GiveUpAfter: duration("5d"),
			Smarthost: &Smarthost{TLS: "starttls", Timeout: duration("2m"), Connections: 2},
			BackupMX: &BackupMX{PrimaryTLS: "opportunistic", ProbeEvery: duration("1m"), MaxRecipients: 100,
				MaxConnections: 100, MaxPerIP: 10, GreetPause: duration("300ms")}},
		SSH: &SSH{Listen: ":115", Ciphers: []string{"aes128-gcm@openssh.com", "aes256-gcm@openssh.com"},
			MaxAuthTries: 3, MaxConnections: 100, LoginGraceTime: duration("30s"), IdleTimeout: duration("15m"),
			Defender: SSHDefender{Failures: 10, Window: duration("10m"), BlockFor: duration("15m")},
			Users:    []*SSHUser{{Umask: "022"}}},
		Watch: &Watch{Every: duration("5m"), Retry: duration("30s"), Timeout: duration("30s"), History: 288,
			Clock:     &Clock{Warn: duration("100ms"), Crit: duration("1s"), Every: duration("15m")},
			NTPServer: &NTPServer{Stratum: 2, Rate: 1, Burst: 8, Clients: 10000, Leak: 16}},
		Fleet: &Fleet{Prefix: "/bartleby/", DialTimeout: duration("5s")},
	}
}

// DefaultSubmit is where submission listens when [mail.smarthost] is set
// and mail.submit is not (without a smarthost there is no submission).
const DefaultSubmit = "127.0.0.1:25"

// derivedDefaults fills the defaults that depend on other keys.
func (cfg *Config) derivedDefaults() {
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	if cfg.Web == nil && len(cfg.Sites) > 0 {
		cfg.Web = &Web{}
		fillDefaults(reflect.ValueOf(cfg.Web).Elem(), reflect.ValueOf(Defaults().Web).Elem())
	}
	for _, s := range cfg.Sites {
		for _, r := range s.Routes {
			r.defaultRateBurst()
		}
	}
	if m := cfg.Mail; m != nil {
		if m.QualifyDomain == "" {
			m.QualifyDomain = cfg.Hostname
		}
		if m.Maildrop == "" {
			m.Maildrop = filepath.Join(cfg.StateDir, "maildrop")
		}
		if m.Submit == nil && m.Smarthost != nil {
			m.Submit = []string{DefaultSubmit}
		}
		if b := m.BackupMX; b != nil {
			defaultDuration(&b.RetryEvery, m.RetryEvery)
			defaultDuration(&b.GiveUpAfter, m.GiveUpAfter)
		}
	}
	if s := cfg.SSH; s != nil {
		if s.MaxStartups == 0 {
			s.MaxStartups = min(30, s.MaxConnections)
		}
		if s.PerSourceMaxStartups == 0 {
			s.PerSourceMaxStartups = min(5, s.MaxStartups)
		}
		if s.PerUserMaxConnections == 0 {
			s.PerUserMaxConnections = min(10, s.MaxConnections)
		}
	}
	if f := cfg.Fleet; f != nil && f.Node == "" {
		f.Node = cfg.Hostname
	}
	if w := cfg.Watch; w != nil && w.Every.err == nil {
		defaultDuration(&w.Jitter, Duration{Duration: w.Every.Duration / 10, raw: (w.Every.Duration / 10).String()})
	}
}

// applyDefaults fills what the file left out, then resolves relative paths
// against the config's directory.
func (cfg *Config) applyDefaults(c *Checker) {
	fillDefaults(reflect.ValueOf(cfg).Elem(), reflect.ValueOf(Defaults()).Elem())
	cfg.derivedDefaults()
	cfg.StateDir = cfg.Path(cfg.StateDir)
}

// fillDefaults sets every zero field of dst to def's value. Sections are
// entered only when present in dst (a section's presence turns a part on);
// each element of a list of tables takes the defaults of def's first one.
// A list given empty (`index = []`) is kept: it is not left out.
func fillDefaults(dst, def reflect.Value) {
	for i := range dst.NumField() {
		f, d := dst.Field(i), def.Field(i)
		if !f.CanSet() {
			continue
		}
		switch f.Kind() {
		case reflect.Pointer:
			switch {
			case d.IsNil():
			case d.Elem().Kind() != reflect.Struct: // an optional value, like compress
				if f.IsNil() {
					f.Set(reflect.New(d.Elem().Type()))
					f.Elem().Set(d.Elem())
				}
			case !f.IsNil():
				fillDefaults(f.Elem(), d.Elem())
			}
		case reflect.Slice:
			if f.IsNil() {
				f.Set(cloneSlice(d))
			} else if d.Len() > 0 && d.Index(0).Kind() == reflect.Pointer {
				for j := range f.Len() {
					if !f.Index(j).IsNil() {
						fillDefaults(f.Index(j).Elem(), d.Index(0).Elem())
					}
				}
			}
		case reflect.Struct:
			if f.Type() == reflect.TypeFor[Duration]() || f.Type() == reflect.TypeFor[Size]() {
				if f.IsZero() {
					f.Set(d)
				}
			} else {
				fillDefaults(f, d)
			}
		case reflect.Map, reflect.Interface:
		default:
			if f.IsZero() {
				f.Set(d)
			}
		}
	}
}

func cloneSlice(v reflect.Value) reflect.Value {
	if v.Len() == 0 || v.Index(0).Kind() == reflect.Pointer {
		return reflect.Zero(v.Type())
	}
	out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
	reflect.Copy(out, v)
	return out
}

func defaultDuration(d *Duration, def Duration) {
	if !d.Set() {
		*d = def
	}
}

// duration and size make the values of Defaults; a typo there is a bug.
func duration(s string) Duration {
	var d Duration
	if d.UnmarshalText([]byte(s)); d.err != nil {
		panic(d.err)
	}
	return d
}

func size(s string) Size {
	var v Size
	if v.UnmarshalText([]byte(s)); v.err != nil {
		panic(v.err)
	}
	return v
}
