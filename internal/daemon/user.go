package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"

	"bartleby/internal/config"
	"bartleby/internal/privdrop"
)

// becomeUser prepares state_dir for the account the daemon runs as and,
// when started as root with a user to run as, drops to it before any part
// starts: nothing parses network input as root, and every file the parts
// write belongs to that user. Started as root without one, it warns once.
func becomeUser(cfg *config.Config, opts Options, log *slog.Logger) error {
	name := opts.User
	if name == "" {
		name = cfg.User
	}
	if name == "" {
		if os.Geteuid() == 0 {
			log.Warn("running as root: every SMTP, HTTP, SSH and NTP parser runs with full privileges; "+
				`set user = "bartleby" in the config (or serve --user bartleby, or the packaged unit's User=bartleby) `+
				"so bartleby drops to that user and keeps only CAP_NET_BIND_SERVICE", "event", "daemon.running_as_root")
		}
		return prepareStateDir(cfg.StateDir, os.Geteuid(), os.Getegid(), log)
	}
	u, err := privdrop.Lookup(name)
	if err != nil {
		return err
	}
	if err := prepareStateDir(cfg.StateDir, u.UID, u.GID, log); err != nil {
		return err
	}
	if err := privdrop.Drop(u); err != nil {
		return err
	}
	log.Info("running as an unprivileged user", "event", "daemon.privileges_dropped", "user", u.Name, "uid", u.UID, "gid", u.GID, "capabilities", "cap_net_bind_service")
	return nil
}

// checkUser makes sure the account named by the user key exists, so that
// `bartleby check` says so before a start as root would fail.
func checkUser(cfg *config.Config, c *config.Checker) {
	if cfg.User == "" {
		return
	}
	if _, err := privdrop.Lookup(cfg.User); err != nil {
		c.Errorf("user", "%v", err)
	}
}

// stateDirMode lets the daemon's group reach the control socket, and
// everyone the public socket, by name (search, not read); state files and
// directories themselves are 0600 and 0700.
const stateDirMode = 0o711

// prepareStateDir creates state_dir for uid/gid, and narrows an existing one
// that others can read: it holds keys, the queue and the control socket.
// One owned by another user is refused: the daemon could not keep its state
// there, or would share it.
func prepareStateDir(dir string, uid, gid int, log *slog.Logger) error {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, stateDirMode); err != nil {
			return fmt.Errorf("state_dir: %w", err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			return fmt.Errorf("state_dir: %w", err)
		}
		st, err = os.Stat(dir)
	}
	if err != nil {
		return fmt.Errorf("state_dir: %w", err)
	}
	if owner := int(st.Sys().(*syscall.Stat_t).Uid); owner != uid {
		return fmt.Errorf("state_dir %s belongs to uid %d, not to the daemon's uid %d: chown -R %d %s, or point state_dir elsewhere", dir, owner, uid, uid, dir)
	}
	if st.Mode().Perm()&^stateDirMode != 0 {
		log.Warn("state_dir was open to others; narrowing its mode", "event", "daemon.state_dir_fixed", "dir", dir,
			"mode", fmt.Sprintf("%04o", st.Mode().Perm()), "now", fmt.Sprintf("%04o", st.Mode().Perm()&stateDirMode))
		if err := os.Chmod(dir, st.Mode().Perm()&stateDirMode); err != nil {
			return fmt.Errorf("state_dir: %w", err)
		}
	}
	if st.Mode().Perm()&0o001 == 0 {
		// Kept as the admin made it (0710 was the default before the
		// public socket), but said once: users' mailq and sendmail fail.
		log.Info("state_dir is closed to other users: mailq and sendmail work only for root and the daemon's group; chmod o+x it to open the public socket",
			"event", "daemon.public_socket_closed", "dir", dir)
	}
	return nil
}

// bindHint says what is missing when a bind was refused for lack of
// privilege: ports below 1024 need CAP_NET_BIND_SERVICE.
func bindHint(err error) string {
	if !errors.Is(err, syscall.EACCES) || privdrop.CanBindLow() {
		return ""
	}
	return " (ports below 1024 need CAP_NET_BIND_SERVICE: under systemd set AmbientCapabilities=CAP_NET_BIND_SERVICE " +
		"as the packaged unit does; otherwise start bartleby as root with user = \"bartleby\" or serve --user bartleby)"
}
