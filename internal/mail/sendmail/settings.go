package sendmail

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"

	"github.com/pelletier/go-toml/v2"

	"bartleby/internal/config"
)

// Settings are the few config keys `sendmail` needs. They are read without
// the full check (which wants secrets and a writable state_dir), so the
// command works for any user who may read the config file.
type Settings struct {
	Submit        string // first loopback submission address
	Maildrop      string
	QualifyDomain string
	Hostname      string
	MaxSize       int64
}

type fileShape struct {
	StateDir string `toml:"state_dir"`
	Hostname string `toml:"hostname"`
	Mail     *struct {
		QualifyDomain string   `toml:"qualify_domain"`
		Submit        []string `toml:"submit"`
		Maildrop      string   `toml:"maildrop"`
		MaxSize       string   `toml:"max_size"`
	} `toml:"mail"`
}

// LoadSettings reads path; a missing file gives the defaults.
func LoadSettings(path string) (*Settings, error) {
	def := config.Defaults()
	s := &Settings{Submit: config.DefaultSubmit, MaxSize: def.Mail.MaxSize.Bytes}
	var shape fileShape
	data, err := config.ReadFile(path, config.MaxConfigFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := toml.NewDecoder(bytes.NewReader(data)).Decode(&shape); err != nil {
			return nil, err
		}
	}
	dir := filepath.Dir(path)
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	state := abs(shape.StateDir)
	if state == "" {
		state = def.StateDir
	}
	s.Hostname = shape.Hostname
	if s.Hostname == "" {
		s.Hostname, _ = os.Hostname()
	}
	s.QualifyDomain = s.Hostname
	s.Maildrop = filepath.Join(state, "maildrop")
	if m := shape.Mail; m != nil {
		if m.QualifyDomain != "" {
			s.QualifyDomain = m.QualifyDomain
		}
		if m.Submit != nil {
			s.Submit = ""
			if len(m.Submit) > 0 {
				s.Submit = m.Submit[0]
			}
		}
		if m.MaxSize != "" {
			if n, err := config.ParseSize(m.MaxSize); err == nil {
				s.MaxSize = n
			}
		}
		if m.Maildrop != "" {
			s.Maildrop = abs(m.Maildrop)
		}
	}
	return s, nil
}
