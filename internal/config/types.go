package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as in Go ("90s", "30m") plus days
// ("5d"), the unit mail people think in. A bad value is kept and reported by
// the checker with its line rather than failing the decode on the first one.
type Duration struct {
	time.Duration
	raw string
	err error
}

// UnmarshalText never fails so that every bad duration is reported at once.
func (d *Duration) UnmarshalText(b []byte) error {
	d.raw = string(b)
	d.Duration, d.err = ParseDuration(d.raw)
	return nil
}

// MarshalText writes the duration back as given.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.raw), nil }

// Set reports whether the key was present in the file.
func (d Duration) Set() bool { return d.raw != "" }

// ParseDuration accepts Go durations and a whole number of days ("5d").
func ParseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (like \"90s\", \"30m\", \"2h\", \"5d\")", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration (like \"90s\", \"30m\", \"2h\", \"5d\")", s)
	}
	return d, nil
}

// Size is a byte count written with a unit ("25MB", "512KiB", "1024").
type Size struct {
	Bytes int64
	raw   string
	err   error
}

// UnmarshalText never fails; see Duration.
func (s *Size) UnmarshalText(b []byte) error {
	s.raw = string(b)
	s.Bytes, s.err = ParseSize(s.raw)
	return nil
}

// MarshalText writes the size back as given.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.raw), nil }

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30},
	{"B", 1},
}

// ParseSize accepts a whole number of bytes with an optional unit.
func ParseSize(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<50)/mult {
		return 0, fmt.Errorf("%q is not a size (like \"25MB\", \"512KiB\", \"1048576\")", s)
	}
	return n * mult, nil
}
