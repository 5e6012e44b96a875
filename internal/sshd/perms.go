package sshd

import (
	"errors"
	"fmt"
	"os"
	osuser "os/user"
	"slices"
	"strconv"

	"bartleby/internal/config"
	"bartleby/internal/jail"
	"bartleby/internal/privdrop"
)

// compilePerms reads a user's umask and group. Giving a file to a group
// takes no capability, only membership: the daemon's user must be in the
// group. Which user that is is known when the check runs as it (start,
// reload, `bartleby check` as that user) or from the user key; as root
// without one, it is not, and the check warns.
func compilePerms(c *config.Checker, key string, cu *config.SSHUser, daemonUser string) jail.Perms {
	umask, _ := config.ParseUmask(cu.Umask) // its syntax is config's check
	p := jail.Perms{Umask: umask}
	if cu.Group == "" {
		return p
	}
	gid, err := lookupGroup(cu.Group)
	if err != nil {
		c.Errorf(key+".group", "%v", err)
		return p
	}
	if gid == 0 {
		c.Errorf(key+".group", "%q is root's group (gid 0): give the files to a group of their own, like www-data", cu.Group)
		return p
	}
	p.Group = gid
	who, groups, err := daemonGroups(daemonUser)
	switch {
	case err != nil:
		c.Errorf(key+".group", "%v", err)
	case groups == nil:
		c.Warnf(key+".group", "checked as root without a user key, so the user bartleby runs as is unknown here: "+
			"it must be a member of group %q (usermod -aG %s bartleby)", cu.Group, cu.Group)
	case !slices.Contains(groups, gid):
		c.Errorf(key+".group", "%s is not a member of group %q, so files cannot be given to it: "+
			"usermod -aG %s %s, then restart bartleby (groups are taken at start)", who, cu.Group, cu.Group, who)
	}
	return p
}

// lookupGroup finds a group by name or number.
func lookupGroup(name string) (int, error) {
	var g *osuser.Group
	var err error
	if _, nerr := strconv.Atoi(name); nerr == nil {
		g, err = osuser.LookupGroupId(name)
	} else {
		g, err = osuser.LookupGroup(name)
	}
	var unknownName osuser.UnknownGroupError
	var unknownID osuser.UnknownGroupIdError
	if errors.As(err, &unknownName) || errors.As(err, &unknownID) {
		return 0, fmt.Errorf("no group %q on this system", name)
	}
	if err != nil {
		return 0, fmt.Errorf("group %q: %w", name, err)
	}
	return strconv.Atoi(g.Gid)
}

// daemonGroups is who the daemon runs as and the groups it may give files
// to: this process's when it is not root (what the running daemon really
// has, whatever /etc/group says since), the user key's account when root
// drops to it, nil when root runs without one.
func daemonGroups(daemonUser string) (string, []int, error) {
	if uid := os.Geteuid(); uid != 0 {
		groups, err := os.Getgroups()
		if err != nil {
			return "", nil, fmt.Errorf("reading this process's groups: %w", err)
		}
		who := "uid " + strconv.Itoa(uid)
		if u, err := osuser.LookupId(strconv.Itoa(uid)); err == nil {
			who = u.Username
		}
		return who, append(groups, os.Getegid()), nil
	}
	if daemonUser == "" {
		return "", nil, nil
	}
	u, err := privdrop.Lookup(daemonUser)
	if err != nil {
		return "", nil, err
	}
	return u.Name, append(u.Groups, u.GID), nil
}
