package sshd

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"

	"bartleby/internal/config"
	"bartleby/internal/jail"
	"bartleby/internal/sshd/authkeys"
	"bartleby/internal/sshd/passwd"
)

// user is an [[ssh.user]] compiled: its password hash, keys and jail.
type user struct {
	*config.SSHUser
	hash   string
	keys   []authkeys.Key
	mounts []jail.Mount // "/" first
	perms  jail.Perms
}

// Check reports what is wrong with [ssh] beyond its syntax: host keys,
// password files, keys and mount directories. It starts nothing.
func Check(cfg *config.Config, c *config.Checker) {
	if cfg.SSH != nil {
		compile(cfg, c)
	}
}

// compile reads and checks what [ssh] names; problems go to c.
func compile(cfg *config.Config, c *config.Checker) map[string]*user {
	s := cfg.SSH
	for i, k := range s.HostKeys {
		c.Readable(fmt.Sprintf("ssh.host_keys[%d]", i+1), k, config.MaxCertFile)
	}
	users := map[string]*user{}
	private := privateDirs(cfg)
	for i, cu := range s.Users {
		key := fmt.Sprintf("ssh.user[%d]", i+1)
		users[cu.Name] = compileUser(c, key, cu, cfg.User)
		users[cu.Name].checkPrivate(c, key, private)
	}
	return users
}

// privateDirs are the daemon's own places, which no jail may show:
// state_dir (host and TLS keys, the mail queue, the control socket) and
// the config file, by what they are called and, where they exist, where
// they lead.
func privateDirs(cfg *config.Config) []privatePlace {
	var places []privatePlace
	if cfg.StateDir != "" {
		places = append(places, privatePlace{"state_dir", hostPaths(cfg.StateDir)})
	}
	if cfg.File != "" {
		places = append(places, privatePlace{"the config file", hostPaths(cfg.File)})
	}
	return places
}

// privatePlace is one of the daemon's own places and the host paths
// that name it.
type privatePlace struct {
	what  string
	paths []string
}

// hostPaths is a path absolute and cleaned and, when it exists, with its
// symlinks resolved.
func hostPaths(dir string) []string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil
	}
	paths := []string{abs}
	if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
		paths = append(paths, real)
	}
	return paths
}

// checkPrivate refuses a root or mount that holds one of the daemon's
// private places: the user (and rsync, whose Landlock rule grants the
// whole mount) would read its keys, write its queue or rewrite its
// config. A jail below state_dir (the quickstart's ./var/sftp/demo) shows
// only itself.
func (u *user) checkPrivate(c *config.Checker, key string, private []privatePlace) {
	for _, m := range u.mounts {
		for _, p := range private {
			if holds(hostPaths(m.Dir), p.paths) {
				c.Errorf(key+".root", "%s (%s) holds %s (%s): the user would reach the daemon's own files", m.Path, m.Dir, p.what, p.paths[0])
			}
		}
	}
}

// holds reports whether any of inner is any of dirs or below it.
func holds(dirs, inner []string) bool {
	for _, d := range dirs {
		for _, in := range inner {
			if jail.Within(in, d) {
				return true
			}
		}
	}
	return false
}

// compileUser compiles one user; daemonUser is the config's user key.
func compileUser(c *config.Checker, key string, cu *config.SSHUser, daemonUser string) *user {
	u := &user{SSHUser: cu}
	u.hash = c.Secret(cu.Password, key+".password_file", cu.PasswordFile)
	if u.hash != "" {
		if err := passwd.Check(u.hash); err != nil {
			c.Errorf(key+".password", "%v", err)
		}
	}
	u.compileKeys(c, key)
	u.compileMounts(c, key)
	u.perms = compilePerms(c, key, cu, daemonUser)
	if cu.Rsync {
		// A warning, not an error: SFTP still works, and rsync is
		// refused at login with the same reason.
		if err := jail.RsyncSupport(); err != nil {
			c.Warnf(key+".rsync", "%v; rsync will be refused for %s at login", err, cu.Name)
		}
	}
	return u
}

func (u *user) compileKeys(c *config.Checker, key string) {
	for i, line := range u.Keys {
		k, err := authkeys.ParseLine([]byte(line))
		if err != nil {
			c.Errorf(fmt.Sprintf("%s.keys[%d]", key, i+1), "%v", err)
			continue
		}
		u.keys = append(u.keys, k)
	}
	if u.AuthorizedKeys == "" {
		return
	}
	data, err := config.ReadFile(u.AuthorizedKeys, config.MaxAuthorizedKeys)
	if err != nil {
		c.Errorf(key+".authorized_keys", "cannot read: %v", config.Reason(err))
		return
	}
	keys, err := authkeys.Parse(data)
	if err != nil {
		c.Errorf(key+".authorized_keys", "%s: %v", u.AuthorizedKeys, err)
		return
	}
	if len(keys) == 0 {
		c.Warnf(key+".authorized_keys", "%s holds no keys", u.AuthorizedKeys)
	}
	u.keys = append(u.keys, keys...)
}

// compileMounts resolves root and mounts into the jail's mount list. Mount
// points are absolute virtual paths; host directories must exist and must
// not nest, so that read-only and read-write rules cannot overlap.
func (u *user) compileMounts(c *config.Checker, key string) {
	if u.Root == "" {
		return // reported by config
	}
	root := filepath.Clean(u.Root)
	u.mounts = []jail.Mount{{Path: "/", Dir: root, ReadOnly: u.ReadOnly}}
	if _, err := os.Stat(root); os.IsNotExist(err) {
		c.Warnf(key+".root", "%s does not exist; it is made (mode 0755) at start", root)
	} else {
		c.Directory(key+".root", root)
	}
	points := make([]string, 0, len(u.Mounts))
	for p := range u.Mounts {
		points = append(points, p)
	}
	sort.Strings(points)
	for _, p := range points {
		mkey := key + ".mounts." + p
		m, ok := u.mount(c, mkey, p, u.Mounts[p])
		if !ok {
			continue
		}
		c.Directory(mkey, m.Dir)
		u.mounts = append(u.mounts, m)
	}
	for i, a := range u.mounts {
		for _, b := range u.mounts[:i] {
			if jail.Within(a.Dir, b.Dir) || jail.Within(b.Dir, a.Dir) {
				c.Errorf(key+".mounts", "%s (%s) and %s (%s) overlap; mount directories must not nest", a.Path, a.Dir, b.Path, b.Dir)
			}
		}
	}
}

func (u *user) mount(c *config.Checker, key, point string, v any) (jail.Mount, bool) {
	m := jail.Mount{Path: point, ReadOnly: u.ReadOnly}
	if !path.IsAbs(point) || path.Clean(point) != point || point == "/" {
		c.Errorf(key, "mount point %q must be a clean absolute path like \"/www\" (not \"/\")", point)
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
					c.Errorf(key+".read_only", "must be true or false")
				}
				m.ReadOnly = m.ReadOnly || ro
			default:
				c.Errorf(key+"."+k, "unknown key (a mount has dir and read_only)")
			}
		}
	}
	if m.Dir == "" {
		c.Errorf(key, `a mount is a directory: "/www" = "/var/www/site" or { dir = "/var/www/site", read_only = true }`)
		return m, false
	}
	m.Dir = filepath.Clean(c.Path(m.Dir))
	return m, true
}
