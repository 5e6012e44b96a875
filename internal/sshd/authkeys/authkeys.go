// Package authkeys parses OpenSSH authorized_keys lines. Options are never
// ignored silently: from="…" is honoured, the restrictions bartleby imposes
// anyway (no-pty, restrict, …) are accepted, everything else is an error.
package authkeys

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Limits on what one file or line may hold.
const (
	MaxKeys     = 1000
	maxPatterns = 64
)

// Key is one accepted public key and where it may log in from.
type Key struct {
	Pub     ssh.PublicKey
	Comment string
	from    []pattern // empty: from anywhere
}

type pattern struct {
	negate bool
	prefix netip.Prefix // valid for CIDR or plain address patterns
	glob   string       // otherwise a */? pattern on the address text
}

// alreadyEnforced are options whose effect bartleby has for every key.
var alreadyEnforced = map[string]bool{
	"restrict": true, "no-pty": true, "no-port-forwarding": true,
	"no-agent-forwarding": true, "no-x11-forwarding": true, "no-user-rc": true,
}

// Parse reads authorized_keys text: one key per line, blank lines and
// #-comments skipped. Errors name the 1-based line.
func Parse(data []byte) ([]Key, error) {
	var keys []Key
	var errs []error
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, err := ParseLine(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", i+1, err))
			continue
		}
		if len(keys) == MaxKeys {
			return nil, fmt.Errorf("more than %d keys", MaxKeys)
		}
		keys = append(keys, k)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return keys, nil
}

// ParseLine parses one authorized_keys line.
func ParseLine(line []byte) (Key, error) {
	pub, comment, opts, rest, err := ssh.ParseAuthorizedKey(line)
	if err != nil {
		return Key{}, fmt.Errorf("not a public key: %v", err)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return Key{}, errors.New("one key per line")
	}
	if _, ok := pub.(*ssh.Certificate); ok {
		return Key{}, errors.New("certificates are not supported; give the plain public key")
	}
	k := Key{Pub: pub, Comment: comment}
	for _, o := range opts {
		name, val, hasVal := strings.Cut(o, "=")
		switch lname := strings.ToLower(name); {
		case lname == "from" && hasVal:
			if k.from != nil {
				return Key{}, errors.New("from= given twice")
			}
			if k.from, err = parseFrom(val); err != nil {
				return Key{}, err
			}
		case alreadyEnforced[lname] && !hasVal:
		default:
			return Key{}, fmt.Errorf("option %q is not supported (only from=\"…\" and the restrictions no-pty, no-port-forwarding, no-agent-forwarding, no-x11-forwarding, no-user-rc, restrict)", name)
		}
	}
	return k, nil
}

func parseFrom(val string) ([]pattern, error) {
	val, ok := strings.CutPrefix(val, `"`)
	if !ok {
		return nil, errors.New(`from= wants a quoted list, like from="192.0.2.0/24,!192.0.2.7"`)
	}
	val, ok = strings.CutSuffix(val, `"`)
	if !ok || strings.Contains(val, `"`) {
		return nil, errors.New("from=: unbalanced quotes")
	}
	list := strings.Split(val, ",")
	if len(list) > maxPatterns {
		return nil, fmt.Errorf("from=: more than %d patterns", maxPatterns)
	}
	var out []pattern
	for _, s := range list {
		var p pattern
		s, p.negate = strings.CutPrefix(strings.TrimSpace(s), "!")
		if a, err := netip.ParseAddr(s); err == nil {
			p.prefix = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		} else if pf, err := netip.ParsePrefix(s); err == nil {
			p.prefix = pf.Masked()
		} else if s != "" && strings.Trim(s, "0123456789abcdefABCDEF:.*?") == "" && strings.ContainsAny(s, "*?") {
			p.glob = strings.ToLower(s)
		} else {
			return nil, fmt.Errorf("from=: %q is not an address, CIDR or address pattern (host names are not looked up)", s)
		}
		out = append(out, p)
	}
	return out, nil
}

// Allows reports whether the key may be used from addr: as in sshd, a
// matching negated pattern refuses, otherwise one matching pattern allows.
func (k Key) Allows(addr netip.Addr) bool {
	if k.from == nil {
		return true
	}
	addr = addr.Unmap()
	allowed := false
	for _, p := range k.from {
		if p.match(addr) {
			if p.negate {
				return false
			}
			allowed = true
		}
	}
	return allowed
}

func (p pattern) match(a netip.Addr) bool {
	if p.prefix.IsValid() {
		return p.prefix.Contains(a)
	}
	ok, _ := path.Match(p.glob, a.String())
	return ok
}
