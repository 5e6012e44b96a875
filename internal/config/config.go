// Package config reads bartleby's one config file: a strict TOML schema with
// defaults, checked as a whole so that every problem is reported at once with
// its file, line and key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"golang.org/x/sys/unix"
)

// DefaultPath is where bartleby looks for its config without -c.
const DefaultPath = "/etc/bartleby/bartleby.toml"

// maxFileSize bounds the config file; a larger one is surely a mistake.
const maxFileSize = 4 << 20

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

	// File is the absolute path the config was read from.
	File string `toml:"-"`
	// Warnings are problems that do not stop bartleby, shown by `check`
	// and logged at start.
	Warnings Errors `toml:"-"`
	// Trusted is TrustedProxies parsed: peers whose X-Forwarded-For is
	// believed.
	Trusted []netip.Prefix `toml:"-"`
}

// Load reads, decodes and checks the file at path. On failure the error is
// an Errors listing every problem found.
func Load(path string) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("cannot read config: %v", unwrapPath(err))}}
	}
	defer f.Close()
	data, err := readLimited(f)
	if err != nil {
		return nil, Errors{{File: path, Msg: err.Error()}}
	}
	return Parse(abs, data)
}

func readLimited(f *os.File) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read config: %v", unwrapPath(err))
	}
	if n > maxFileSize {
		return nil, fmt.Errorf("config is larger than %d bytes", maxFileSize)
	}
	return buf.Bytes(), nil
}

// Parse decodes and checks a config held in memory; file names it in
// messages and anchors relative paths.
func Parse(file string, data []byte) (*Config, error) {
	cfg := &Config{File: file}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return nil, decodeErrors(file, err)
	}
	c := &checker{file: file, lines: keyLines(data)}
	cfg.check(c)
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	cfg.Warnings = c.warns
	return cfg, nil
}

// decodeErrors turns go-toml's errors into located problems: every unknown
// key at once, or the one syntax or type error that stopped the decoder.
func decodeErrors(file string, err error) Errors {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		out := make(Errors, 0, len(strict.Errors))
		for _, e := range strict.Errors {
			row, _ := e.Position()
			out = append(out, Problem{File: file, Line: row, Key: strings.Join(e.Key(), "."),
				Msg: "unknown key (see the config reference in README.md)"})
		}
		return out
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		return Errors{{File: file, Line: row, Key: strings.Join(de.Key(), "."), Msg: de.Error()}}
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

func (cfg *Config) check(c *checker) {
	if cfg.StateDir == "" {
		cfg.StateDir = "/var/lib/bartleby"
	}
	cfg.StateDir = cfg.Path(cfg.StateDir)
	checkStateDir(c, cfg.StateDir)
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	cfg.Trusted = c.prefixes("trusted_proxies", cfg.TrustedProxies)
	if cfg.ACME != nil {
		cfg.ACME.check(c, cfg)
	}
	if cfg.Admin != nil {
		cfg.Admin.check(c, cfg)
	}
	cfg.checkWeb(c)
	if cfg.Mail != nil {
		cfg.Mail.check(c, cfg)
	}
	if cfg.SSH != nil {
		cfg.SSH.check(c, cfg)
	}
	if cfg.Watch != nil {
		cfg.Watch.check(c, cfg)
	}
}

// checkStateDir makes sure bartleby will be able to keep its state: the
// directory exists and is writable, or can be created.
func checkStateDir(c *checker, dir string) {
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		c.errorf("state_dir", "%s is not a directory", dir)
	case err == nil:
		if unix.Access(dir, unix.W_OK|unix.X_OK) != nil {
			c.errorf("state_dir", "%s is not writable by this user (uid %d)", dir, os.Getuid())
		}
	case errors.Is(err, os.ErrNotExist):
		parent := filepath.Dir(dir)
		for {
			if _, err := os.Stat(parent); err == nil {
				break
			}
			parent = filepath.Dir(parent)
		}
		if unix.Access(parent, unix.W_OK|unix.X_OK) != nil {
			c.errorf("state_dir", "%s does not exist and %s is not writable by this user (uid %d)", dir, parent, os.Getuid())
		}
	default:
		c.errorf("state_dir", "%v", err)
	}
}
