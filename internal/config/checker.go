package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Checker collects every problem found in a config, each located by the key
// it concerns. Config checks the syntax of every section; each part then
// checks its own section's meaning (files, keys, templates) with a Checker
// of the same config, so that every problem comes out as file:line: key.
// None of its helpers stops at the first problem.
type Checker struct {
	file     string
	lines    map[string]int
	errs     Errors
	warns    Errors
	listens  map[string]string // normalised address -> key that claimed it
	listenAt []string          // claimed keys in order, for stable messages
}

// Checker returns a Checker that locates keys in this config's file.
func (cfg *Config) Checker() *Checker {
	return &Checker{file: cfg.File, lines: cfg.lines}
}

func (c *Checker) problem(key, format string, args []any) Problem {
	return Problem{File: c.file, Line: c.Line(key), Key: key, Msg: fmt.Sprintf(format, args...)}
}

// Errorf records an error about key.
func (c *Checker) Errorf(key, format string, args ...any) {
	c.errs = append(c.errs, c.problem(key, format, args))
}

// Warnf records a warning about key: the config is used but deserves a look.
func (c *Checker) Warnf(key, format string, args ...any) {
	c.warns = append(c.warns, c.problem(key, format, args))
}

// Err is every error recorded, as Errors, or nil.
func (c *Checker) Err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}

// Warnings is every warning recorded.
func (c *Checker) Warnings() Errors { return c.warns }

// Line finds the line of key, or of the nearest enclosing table when the key
// itself is absent (a missing required key is reported at its table).
func (c *Checker) Line(key string) int {
	for key != "" {
		if l, ok := c.lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

// Has reports whether key was written in the file.
func (c *Checker) Has(key string) bool {
	_, ok := c.lines[key]
	return ok
}

// duration reports a bad duration; ok is false then, so that no check
// follows on its meaningless value.
func (c *Checker) duration(key string, d Duration) bool {
	if d.err != nil {
		c.Errorf(key, "%v", d.err)
		return false
	}
	return true
}

func (c *Checker) size(key string, s Size) {
	if s.err != nil {
		c.Errorf(key, "%v", s.err)
	}
}

// listen checks a listen address ("127.0.0.1:8080", "[::1]:25", ":443")
// and claims it for key; two parts on one address is an error.
func (c *Checker) listen(key, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		c.Errorf(key, "%q is not a listen address (like \"127.0.0.1:8080\", \"[::1]:25\" or \":443\")", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		c.Errorf(key, "%q: port must be a number from 1 to 65535", addr)
		return
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil && host != "localhost" {
			c.Errorf(key, "%q: listen on an IP address, not a name", addr)
			return
		}
	}
	if c.listens == nil {
		c.listens = map[string]string{}
	}
	norm := net.JoinHostPort(host, port)
	for _, other := range c.listenAt {
		if overlaps(norm, other) {
			c.Errorf(key, "%q is already used by %s (line %d)", addr, c.listens[other], c.Line(c.listens[other]))
			return
		}
	}
	c.listens[norm] = key
	c.listenAt = append(c.listenAt, norm)
}

// overlaps reports whether two listen addresses would fight over a port: the
// same address, or a wildcard and anything on the same port.
func overlaps(a, b string) bool {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	if pa != pb {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wild(ha) || wild(hb)
}

// IsLoopback reports whether a listen address is on the loopback interface.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// prefixes checks a list of CIDRs.
func (c *Checker) prefixes(key string, list []string) {
	for i, s := range list {
		if _, err := ParsePrefix(s); err != nil {
			c.Errorf(fmt.Sprintf("%s[%d]", key, i+1), "%q is not an IP address or CIDR (like \"192.0.2.0/24\")", s)
		}
	}
}

// Prefixes parses a list of CIDRs the config has checked; a part calls it to
// get the networks of an allow or trusted_proxies list.
func Prefixes(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := ParsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// ParsePrefix parses a CIDR or a single address.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// HTTPURL checks an http(s) URL with a host.
func (c *Checker) HTTPURL(key, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.Errorf(key, "must be an http(s) URL, got %q", s)
		return nil
	}
	return u
}

// oneOf checks an enumerated value; empty means "use the default".
func (c *Checker) oneOf(key, v string, allowed ...string) {
	if v == "" {
		return
	}
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	c.Errorf(key, "must be one of %s, got %q", strings.Join(allowed, ", "), v)
}

// count checks a number is within 1..max.
func (c *Checker) count(key string, v, max int) {
	if v < 1 || v > max {
		c.Errorf(key, "must be from 1 to %d, got %d", max, v)
	}
}

// Readable checks that path names a regular file of at most limit bytes
// that bartleby can open.
func (c *Checker) Readable(key, path string, limit int64) {
	f, err := OpenFile(path, limit)
	if err != nil {
		c.Errorf(key, "cannot read %s: %v", path, Reason(err))
		return
	}
	f.Close()
}

// Directory checks that dir exists and is a directory.
func (c *Checker) Directory(key, dir string) {
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		c.Errorf(key, "%v", Reason(err))
	case !st.IsDir():
		c.Errorf(key, "%s is not a directory", dir)
	}
}

// Secret resolves a secret given inline or in the file at path (fileKey). A
// world- or group-readable secret file is used but warned about, as sshd
// does for keys. "Both given" is a syntax error Config reports.
func (c *Checker) Secret(inline, fileKey, path string) string {
	if path == "" || inline != "" {
		return inline
	}
	f, err := OpenFile(path, MaxSecretFile)
	if err != nil {
		c.Errorf(fileKey, "cannot read secret: %v", Reason(err))
		return ""
	}
	defer f.Close()
	b, err := readAll(f, MaxSecretFile)
	if err != nil {
		c.Errorf(fileKey, "cannot read secret: %v", Reason(err))
		return ""
	}
	if st, err := f.Stat(); err == nil && st.Mode().Perm()&0o044 != 0 {
		c.Warnf(fileKey, "%s is readable by group or others (mode %04o); chmod 600 it", path, st.Mode().Perm())
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		c.Errorf(fileKey, "%s is empty", path)
	}
	return s
}

// CertFiles checks a cert/key pair the config names (both or neither is a
// syntax rule Config checks): both readable, within size.
func (c *Checker) CertFiles(key, cert, priv string) {
	if cert == "" || priv == "" {
		return
	}
	c.Readable(key+".cert", cert, MaxCertFile)
	c.Readable(key+".key", priv, MaxCertFile)
}

// secretPair reports a secret given both inline and as a file.
func (c *Checker) secretPair(key, inline, fileKey, path string) {
	if inline != "" && path != "" {
		c.Errorf(fileKey, "give either %s or %s, not both", lastKey(key), lastKey(fileKey))
	}
}

// certPair checks a cert/key pair is given whole or not at all.
func (c *Checker) certPair(key, cert, priv string) {
	if (cert == "") != (priv == "") {
		c.Errorf(key, "give both cert and key, or neither")
	}
}

func lastKey(key string) string {
	if i := strings.LastIndex(key, "."); i >= 0 {
		return key[i+1:]
	}
	return key
}

// Path resolves a path the file names against the file's directory.
func (c *Checker) Path(p string) string {
	return (&Config{File: c.file}).Path(p)
}
