// Package config reads bartleby's one config file: a strict TOML schema,
// its defaults (all in defaults.go) and the checks that need nothing but the
// file. It is a leaf: each part compiles its own section into what it runs
// and reports what is wrong with it through a Checker, which locates every
// problem as file:line: key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// DefaultPath is where bartleby looks for its config without -c.
const DefaultPath = "/etc/bartleby/bartleby.toml"

// Config is the whole file. A part is on when its section is present.
type Config struct {
	StateDir       string   `toml:"state_dir"`
	Hostname       string   `toml:"hostname"`
	TrustedProxies []string `toml:"trusted_proxies"`
	// User is the account a root-started daemon drops to (internal/privdrop).
	User string `toml:"user"`

	ACME  *ACME   `toml:"acme"`
	Admin *Admin  `toml:"admin"`
	Web   *Web    `toml:"web"`
	Sites []*Site `toml:"site"`
	Mail  *Mail   `toml:"mail"`
	SSH   *SSH    `toml:"ssh"`
	Watch *Watch  `toml:"watch"`
	Fleet *Fleet  `toml:"fleet"`

	// File is the absolute path the config was read from.
	File string `toml:"-"`
	// Warnings are problems that do not stop bartleby, shown by `check`
	// and logged at start.
	Warnings Errors `toml:"-"`

	lines map[string]int // key -> line, for Checkers
}

// Check is a part's check of its own section: what the file names (keys,
// pages, secrets), compiled as the part will, its problems reported to c.
type Check func(cfg *Config, c *Checker)

// Load reads, decodes and checks the file at path, then runs the parts'
// checks given. On failure the error is an Errors listing every problem
// found, the parts' with config's.
func Load(path string, checks ...Check) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	data, err := ReadFile(abs, MaxConfigFile)
	if err != nil {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("cannot read config: %v", Reason(err))}}
	}
	return Parse(abs, data, checks...)
}

// Parse decodes and checks a config held in memory, as Load; file names it
// in messages and anchors relative paths.
func Parse(file string, data []byte, checks ...Check) (*Config, error) {
	doc, syntax := scan(data)
	if syntax != nil {
		syntax.File = file
		return nil, Errors{*syntax}
	}
	if errs := doc.checkSchema(file); len(errs) > 0 {
		return nil, errs
	}
	cfg := &Config{File: file, lines: doc.lines}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return nil, decodeErrors(file, err)
	}
	c := cfg.Checker()
	cfg.applyDefaults(c)
	cfg.check(c)
	for _, check := range checks {
		check(cfg, c)
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	cfg.Warnings = c.Warnings()
	return cfg, nil
}

// decodeErrors locates what the decoder still finds after checkSchema
// (a key defined twice, a number out of range), without Go type names.
func decodeErrors(file string, err error) Errors {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		out := make(Errors, 0, min(len(strict.Errors), MaxReported))
		for _, e := range strict.Errors[:min(len(strict.Errors), MaxReported)] {
			row, _ := e.Position() // scans the file: done for the reported few only
			out = append(out, Problem{File: file, Line: row, Key: strings.Join(e.Key(), "."),
				Msg: "unknown key (see the config reference in README.md)"})
		}
		return out
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if strings.Contains(msg, "cannot decode") || strings.Contains(msg, "cannot store") {
			msg = "has a value of the wrong type"
		}
		return Errors{{File: file, Line: row, Key: strings.Join(de.Key(), "."), Msg: msg}}
	}
	return Errors{{File: file, Msg: err.Error()}}
}

// Path resolves p against the directory of the config file, so that the CLI
// and the daemon agree on relative paths wherever they are started.
func (cfg *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(cfg.File), p)
}

// check runs the syntax checks of every section present.
func (cfg *Config) check(c *Checker) {
	c.prefixes("trusted_proxies", cfg.TrustedProxies)
	if cfg.ACME != nil {
		cfg.ACME.check(c)
	}
	if cfg.Admin != nil {
		cfg.Admin.check(c)
	}
	cfg.checkWeb(c)
	if cfg.Mail != nil {
		cfg.Mail.check(c)
	}
	if cfg.SSH != nil {
		cfg.SSH.check(c)
	}
	if cfg.Watch != nil {
		cfg.Watch.check(c)
	}
	if cfg.Fleet != nil {
		cfg.Fleet.check(c)
	}
}
