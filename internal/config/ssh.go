package config

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"bartleby/internal/jail"
	"bartleby/internal/sshd/authkeys"
	"bartleby/internal/sshd/passwd"
)

// SSH is the jailed SFTP/rsync server: virtual users, each locked in a
// root directory with optional mounts.
type SSH struct {
	Listen string `toml:"listen"`
	// HostKeys are private key files; when empty, ed25519, ecdsa and
	// rsa-3072 keys are made in state_dir/ssh on first start.
	HostKeys []string `toml:"host_keys"`
	// Ciphers overrides the offered ciphers (default AES-GCM only, for
	// throughput; see the File jail section of README.md).
	Ciphers        []string `toml:"ciphers"`
	MaxAuthTries   int      `toml:"max_auth_tries"`
	LoginGraceTime Duration `toml:"login_grace_time"`
	IdleTimeout    Duration `toml:"idle_timeout"`
	MaxConnections int      `toml:"max_connections"`
	// Defender blocks addresses that fail to log in too often.
	Defender SSHDefender `toml:"defender"`
	Users    []*SSHUser  `toml:"user"`
}

// SSHDefender is the per-address brute-force protection.
type SSHDefender struct {
	// Failures from one address within Window before it is blocked.
	Failures int      `toml:"failures"`
	Window   Duration `toml:"window"`
	BlockFor Duration `toml:"block_for"`
}

// SSHUser is one virtual user.
type SSHUser struct {
	Name           string         `toml:"name"`
	Password       string         `toml:"password"` // a hash
	PasswordFile   string         `toml:"password_file"`
	Keys           []string       `toml:"keys"`            // authorized_keys lines
	AuthorizedKeys string         `toml:"authorized_keys"` // a file of them
	Root           string         `toml:"root"`
	Mounts         map[string]any `toml:"mounts"` // "/www" = "/dir" or { dir = "/dir", read_only = true }
	ReadOnly       bool           `toml:"read_only"`
	Rsync          bool           `toml:"rsync"`
	RsyncOwner     bool           `toml:"rsync_owner"`

	// Resolved by check.
	Hash       string         `toml:"-"`
	PublicKeys []authkeys.Key `toml:"-"`
	Jail       []jail.Mount   `toml:"-"` // "/" first
}

const maxSSHUsers = 10000

// sshCiphers are the ciphers that may be offered: modern ones only.
var sshCiphers = []string{"aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
	"chacha20-poly1305@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr"}

func (s *SSH) check(c *checker, cfg *Config) {
	if s.Listen == "" {
		s.Listen = ":115"
	}
	c.listen("ssh.listen", s.Listen)
	for i, k := range s.HostKeys {
		s.HostKeys[i] = cfg.Path(k)
		c.readable(fmt.Sprintf("ssh.host_keys[%d]", i+1), s.HostKeys[i])
	}
	if len(s.Ciphers) == 0 {
		s.Ciphers = []string{"aes128-gcm@openssh.com", "aes256-gcm@openssh.com"}
	}
	for i, ci := range s.Ciphers {
		c.oneOf(fmt.Sprintf("ssh.ciphers[%d]", i+1), ci, sshCiphers...)
	}
	if s.MaxAuthTries == 0 {
		s.MaxAuthTries = 3
	}
	if s.MaxAuthTries < 1 || s.MaxAuthTries > 10 {
		c.errorf("ssh.max_auth_tries", "must be from 1 to 10, got %d", s.MaxAuthTries)
	}
	if s.MaxConnections == 0 {
		s.MaxConnections = 100
	}
	if s.MaxConnections < 1 {
		c.errorf("ssh.max_connections", "must be positive")
	}
	c.duration("ssh.login_grace_time", s.LoginGraceTime)
	c.duration("ssh.idle_timeout", s.IdleTimeout)
	s.Defender.check(c)
	if len(s.Users) == 0 {
		c.warnf("ssh", "no [[ssh.user]]: nobody can log in")
	}
	if len(s.Users) > maxSSHUsers {
		c.errorf("ssh.user", "more than %d users", maxSSHUsers)
	}
	seen := map[string]int{}
	for i, u := range s.Users {
		key := fmt.Sprintf("ssh.user[%d]", i+1)
		if prev, ok := seen[u.Name]; ok && u.Name != "" {
			c.errorf(key+".name", "user %q is already defined in ssh.user[%d]", u.Name, prev)
		}
		seen[u.Name] = i + 1
		u.check(c, cfg, key)
	}
}

func (d *SSHDefender) check(c *checker) {
	if d.Failures == 0 {
		d.Failures = 10
	}
	if d.Failures < 1 {
		c.errorf("ssh.defender.failures", "must be positive")
	}
	c.duration("ssh.defender.window", d.Window)
	c.duration("ssh.defender.block_for", d.BlockFor)
}

func (u *SSHUser) check(c *checker, cfg *Config, key string) {
	if u.Name == "" || len(u.Name) > 64 || strings.ContainsAny(u.Name, " \t\r\n:/@\x00") {
		c.errorf(key+".name", "a user needs a name (no spaces, ':', '/' or '@', at most 64 bytes)")
	}
	u.Hash = c.secret(key+".password", u.Password, key+".password_file", cfg.Path(u.PasswordFile))
	if u.Hash != "" {
		if err := passwd.Check(u.Hash); err != nil {
			c.errorf(key+".password", "%v", err)
		}
	}
	u.checkKeys(c, cfg, key)
	if u.Hash == "" && len(u.PublicKeys) == 0 && !c.has(key+".keys") && u.AuthorizedKeys == "" {
		c.errorf(key, "user %q has neither a password nor keys", u.Name)
	}
	u.checkMounts(c, cfg, key)
	if u.RsyncOwner && !u.Rsync {
		c.errorf(key+".rsync_owner", "only means something with rsync = true")
	}
	if u.Rsync {
		// A warning, not an error: SFTP still works, and rsync is
		// refused at login with the same reason.
		if err := jail.RsyncSupport(); err != nil {
			c.warnf(key+".rsync", "%v; rsync will be refused for %s at login", err, u.Name)
		}
	}
}

func (u *SSHUser) checkKeys(c *checker, cfg *Config, key string) {
	for i, line := range u.Keys {
		k, err := authkeys.ParseLine([]byte(line))
		if err != nil {
			c.errorf(fmt.Sprintf("%s.keys[%d]", key, i+1), "%v", err)
			continue
		}
		u.PublicKeys = append(u.PublicKeys, k)
	}
	if u.AuthorizedKeys == "" {
		return
	}
	u.AuthorizedKeys = cfg.Path(u.AuthorizedKeys)
	data, err := os.ReadFile(u.AuthorizedKeys)
	if err != nil {
		c.errorf(key+".authorized_keys", "cannot read: %v", unwrapPath(err))
		return
	}
	keys, err := authkeys.Parse(data)
	if err != nil {
		c.errorf(key+".authorized_keys", "%s: %v", u.AuthorizedKeys, err)
		return
	}
	if len(keys) == 0 {
		c.warnf(key+".authorized_keys", "%s holds no keys", u.AuthorizedKeys)
	}
	u.PublicKeys = append(u.PublicKeys, keys...)
}

// checkMounts resolves root and mounts into the jail's mount list. Mount
// points are absolute virtual paths; host directories must exist and must
// not nest, so that read-only and read-write rules cannot overlap.
func (u *SSHUser) checkMounts(c *checker, cfg *Config, key string) {
	if u.Root == "" {
		c.errorf(key+".root", "a user needs a root directory")
		return
	}
	u.Root = filepath.Clean(cfg.Path(u.Root))
	u.Jail = []jail.Mount{{Path: "/", Dir: u.Root, ReadOnly: u.ReadOnly}}
	if _, err := os.Stat(u.Root); os.IsNotExist(err) {
		c.warnf(key+".root", "%s does not exist; it is made (mode 0755) at start", u.Root)
	} else {
		c.directory(key+".root", u.Root)
	}
	points := make([]string, 0, len(u.Mounts))
	for p := range u.Mounts {
		points = append(points, p)
	}
	sort.Strings(points)
	for _, p := range points {
		mkey := key + ".mounts." + p
		m, ok := u.mount(c, cfg, mkey, p, u.Mounts[p])
		if !ok {
			continue
		}
		c.directory(mkey, m.Dir)
		u.Jail = append(u.Jail, m)
	}
	for i, a := range u.Jail {
		for _, b := range u.Jail[:i] {
			if jail.Within(a.Dir, b.Dir) || jail.Within(b.Dir, a.Dir) {
				c.errorf(key+".mounts", "%s (%s) and %s (%s) overlap; mount directories must not nest", a.Path, a.Dir, b.Path, b.Dir)
			}
		}
	}
}

func (u *SSHUser) mount(c *checker, cfg *Config, key, point string, v any) (jail.Mount, bool) {
	m := jail.Mount{Path: point, ReadOnly: u.ReadOnly}
	if !path.IsAbs(point) || path.Clean(point) != point || point == "/" {
		c.errorf(key, "mount point %q must be a clean absolute path like \"/www\" (not \"/\")", point)
		return m, false
	}
	switch v := v.(type) {
	case string:
		m.Dir = v
	case map[string]any:
		for k, val := range v {
			switch k {
			case "dir":
				m.Dir, _ = val.(string)
			case "read_only":
				ro, ok := val.(bool)
				if !ok {
					c.errorf(key+".read_only", "must be true or false")
				}
				m.ReadOnly = m.ReadOnly || ro
			default:
				c.errorf(key+"."+k, "unknown key (a mount has dir and read_only)")
			}
		}
	}
	if m.Dir == "" {
		c.errorf(key, `a mount is a directory: "/www" = "/var/www/site" or { dir = "/var/www/site", read_only = true }`)
		return m, false
	}
	m.Dir = filepath.Clean(cfg.Path(m.Dir))
	return m, true
}

// directory checks that dir exists and is a directory.
func (c *checker) directory(key, dir string) {
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		c.errorf(key, "%v", unwrapPath(err))
	case !st.IsDir():
		c.errorf(key, "%s is not a directory", dir)
	}
}
