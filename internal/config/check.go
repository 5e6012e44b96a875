package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"

	"bartleby/internal/certs/capool"
)

// checker collects every problem in a decoded config, each located by the
// key path it concerns. Section files call its helpers from their check
// methods; none of them stops at the first problem.
type checker struct {
	file     string
	lines    map[string]int
	errs     Errors
	warns    Errors
	listens  map[string]string // normalised address -> key that claimed it
	listenAt []string          // claimed keys in order, for stable messages
}

func (c *checker) problem(key, format string, args []any) Problem {
	return Problem{File: c.file, Line: c.line(key), Key: key, Msg: fmt.Sprintf(format, args...)}
}

// errorf records an error about key.
func (c *checker) errorf(key, format string, args ...any) {
	c.errs = append(c.errs, c.problem(key, format, args))
}

// warnf records a warning about key: the config is used but deserves a look.
func (c *checker) warnf(key, format string, args ...any) {
	c.warns = append(c.warns, c.problem(key, format, args))
}

// line finds the line of key, or of the nearest enclosing table when the key
// itself is absent (a missing required key is reported at its table).
func (c *checker) line(key string) int {
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

// has reports whether key was written in the file.
func (c *checker) has(key string) bool {
	_, ok := c.lines[key]
	return ok
}

func (c *checker) duration(key string, d Duration) {
	if d.err != nil {
		c.errorf(key, "%v", d.err)
	}
}

func (c *checker) size(key string, s Size) {
	if s.err != nil {
		c.errorf(key, "%v", s.err)
	}
}

// listen checks a listen address ("127.0.0.1:8080", "[::1]:25", ":443")
// and claims it for key; two parts on one address is an error.
func (c *checker) listen(key, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		c.errorf(key, "%q is not a listen address (like \"127.0.0.1:8080\", \"[::1]:25\" or \":443\")", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		c.errorf(key, "%q: port must be a number from 1 to 65535", addr)
		return
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil && host != "localhost" {
			c.errorf(key, "%q: listen on an IP address, not a name", addr)
			return
		}
	}
	if c.listens == nil {
		c.listens = map[string]string{}
	}
	norm := net.JoinHostPort(host, port)
	for _, other := range c.listenAt {
		if overlaps(norm, other) {
			c.errorf(key, "%q is already used by %s (line %d)", addr, c.listens[other], c.line(c.listens[other]))
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

// prefixes parses CIDRs; a bare address counts as a single host.
func (c *checker) prefixes(key string, list []string) []netip.Prefix {
	var out []netip.Prefix
	for i, s := range list {
		p, err := ParsePrefix(s)
		if err != nil {
			c.errorf(fmt.Sprintf("%s[%d]", key, i+1), "%q is not an IP address or CIDR (like \"192.0.2.0/24\")", s)
			continue
		}
		out = append(out, p)
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

// readable checks that path names a file bartleby can open.
func (c *checker) readable(key, path string) {
	f, err := os.Open(path)
	if err != nil {
		c.errorf(key, "cannot read %s: %v", path, unwrapPath(err))
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		c.errorf(key, "%s is a directory, expected a file", path)
	}
}

// secret resolves a secret given inline or as a *_file path. A world- or
// group-readable secret file is used but warned about, as sshd does for keys.
func (c *checker) secret(key, inline, fileKey, path string) string {
	switch {
	case inline != "" && path != "":
		c.errorf(fileKey, "give either %s or %s, not both", lastKey(key), lastKey(fileKey))
		return ""
	case path == "":
		return inline
	}
	b, err := os.ReadFile(path)
	if err != nil {
		c.errorf(fileKey, "cannot read secret: %v", unwrapPath(err))
		return ""
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o044 != 0 {
		c.warnf(fileKey, "%s is readable by group or others (mode %04o); chmod 600 it", path, st.Mode().Perm())
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		c.errorf(fileKey, "%s is empty", path)
	}
	return s
}

// httpURL checks an http(s) URL with a host.
func (c *checker) httpURL(key, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.errorf(key, "must be an http(s) URL, got %q", s)
		return nil
	}
	return u
}

// oneOf checks an enumerated value; empty means "use the default".
func (c *checker) oneOf(key, v string, allowed ...string) {
	if v == "" {
		return
	}
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	c.errorf(key, "must be one of %s, got %q", strings.Join(allowed, ", "), v)
}

func lastKey(key string) string {
	if i := strings.LastIndex(key, "."); i >= 0 {
		return key[i+1:]
	}
	return key
}

// unwrapPath drops the path from an *os.PathError: messages already name it.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// caPath checks a CA file or directory the way it will be loaded.
func (c *checker) caPath(key, path string) {
	if _, err := capool.Load(path); err != nil {
		c.errorf(key, "%v", err)
	}
}
