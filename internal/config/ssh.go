package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// SSH is the jailed SFTP/rsync server: virtual users, each locked in a
// root directory with optional mounts.
type SSH struct {
	Listen string `toml:"listen"`
	// HostKeys are private key files; when empty, ed25519, ecdsa and
	// rsa-3072 keys are made in state_dir/ssh on first start.
	HostKeys []string `toml:"host_keys"`
	// Ciphers overrides the offered ciphers (AES-GCM only by default, for
	// throughput; see the File jail section of README.md).
	Ciphers        []string `toml:"ciphers"`
	MaxAuthTries   int      `toml:"max_auth_tries"`
	LoginGraceTime Duration `toml:"login_grace_time"`
	IdleTimeout    Duration `toml:"idle_timeout"`
	MaxConnections int      `toml:"max_connections"`
	// MaxStartups bounds connections not yet logged in, in all and per
	// address (OpenSSH's MaxStartups and PerSourceMaxStartups).
	MaxStartups          int `toml:"max_startups"`
	PerSourceMaxStartups int `toml:"per_source_max_startups"`
	// PerUserMaxConnections bounds one user's logged-in connections, so
	// that one user (or a stolen key) cannot take every connection slot
	// and every rsync process (pam_limits' maxlogins for OpenSSH).
	PerUserMaxConnections int `toml:"per_user_max_connections"`
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
	// Group is the group (name or number) every file and directory the
	// user writes gets; the daemon's user must be a member of it.
	Group string `toml:"group"`
	// Umask is the octal mask of the modes the user's files may have
	// ("022", "002" for a directory shared with a group).
	Umask string `toml:"umask"`
}

const maxSSHUsers = 10000

// ParseUmask reads an octal umask of three or four digits, like umask(1)
// prints it ("022", "0027"); setuid, setgid and sticky bits are not in it.
func ParseUmask(s string) (os.FileMode, error) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || len(s) < 3 || len(s) > 4 || n > 0o777 {
		return 0, fmt.Errorf("%q is not a umask (three octal digits, like \"022\" or \"002\")", s)
	}
	return os.FileMode(n), nil
}

// sshCiphers are the ciphers that may be offered: modern ones only.
var sshCiphers = []string{"aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
	"chacha20-poly1305@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr"}

func (s *SSH) check(c *Checker) {
	c.listen("ssh.listen", s.Listen)
	for i, k := range s.HostKeys {
		s.HostKeys[i] = c.Path(k)
	}
	for i, ci := range s.Ciphers {
		c.oneOf(fmt.Sprintf("ssh.ciphers[%d]", i+1), ci, sshCiphers...)
	}
	if s.MaxAuthTries < 1 || s.MaxAuthTries > 10 {
		c.Errorf("ssh.max_auth_tries", "must be from 1 to 10, got %d", s.MaxAuthTries)
	}
	if s.MaxConnections < 1 {
		c.Errorf("ssh.max_connections", "must be positive")
	}
	if s.MaxStartups < 1 || s.MaxStartups > s.MaxConnections {
		c.Errorf("ssh.max_startups", "must be from 1 to max_connections (%d), got %d", s.MaxConnections, s.MaxStartups)
	}
	if s.PerSourceMaxStartups < 1 || s.PerSourceMaxStartups > s.MaxStartups {
		c.Errorf("ssh.per_source_max_startups", "must be from 1 to max_startups (%d), got %d", s.MaxStartups, s.PerSourceMaxStartups)
	}
	if s.PerUserMaxConnections < 1 || s.PerUserMaxConnections > s.MaxConnections {
		c.Errorf("ssh.per_user_max_connections", "must be from 1 to max_connections (%d), got %d", s.MaxConnections, s.PerUserMaxConnections)
	}
	c.duration("ssh.login_grace_time", s.LoginGraceTime)
	c.duration("ssh.idle_timeout", s.IdleTimeout)
	if s.Defender.Failures < 1 {
		c.Errorf("ssh.defender.failures", "must be positive")
	}
	c.duration("ssh.defender.window", s.Defender.Window)
	c.duration("ssh.defender.block_for", s.Defender.BlockFor)
	if len(s.Users) == 0 {
		c.Warnf("ssh", "no [[ssh.user]]: nobody can log in")
	}
	if len(s.Users) > maxSSHUsers {
		c.Errorf("ssh.user", "more than %d users", maxSSHUsers)
	}
	seen := map[string]int{}
	for i, u := range s.Users {
		key := fmt.Sprintf("ssh.user[%d]", i+1)
		if prev, ok := seen[u.Name]; ok && u.Name != "" {
			c.Errorf(key+".name", "user %q is already defined in ssh.user[%d]", u.Name, prev)
		}
		seen[u.Name] = i + 1
		u.check(c, key)
	}
}

func (u *SSHUser) check(c *Checker, key string) {
	if u.Name == "" || len(u.Name) > 64 || strings.ContainsAny(u.Name, " \t\r\n:/@\x00") {
		c.Errorf(key+".name", "a user needs a name (no spaces, ':', '/' or '@', at most 64 bytes)")
	}
	u.PasswordFile = c.Path(u.PasswordFile)
	c.secretPair(key+".password", u.Password, key+".password_file", u.PasswordFile)
	u.AuthorizedKeys = c.Path(u.AuthorizedKeys)
	if u.Password == "" && u.PasswordFile == "" && !c.Has(key+".keys") && u.AuthorizedKeys == "" {
		c.Errorf(key, "user %q has neither a password nor keys", u.Name)
	}
	if u.Root == "" {
		c.Errorf(key+".root", "a user needs a root directory")
	}
	if _, err := ParseUmask(u.Umask); err != nil {
		c.Errorf(key+".umask", "%v", err)
	}
	if u.Group != "" && (len(u.Group) > 32 || strings.ContainsAny(u.Group, " \t\r\n:/,\x00")) {
		c.Errorf(key+".group", "%q is not a group name or number (like \"www-data\")", u.Group)
	}
	if u.RsyncOwner && !u.Rsync {
		c.Errorf(key+".rsync_owner", "only means something with rsync = true")
	}
}
