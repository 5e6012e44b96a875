package jail

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Limits on an rsync command line from a client.
const (
	maxRsyncCommand = 32 << 10
	maxRsyncArgs    = 1000
	maxRsyncPaths   = 100
	maxOptionValue  = 1024
)

// RsyncOptions is what the config allows a user's rsync.
type RsyncOptions struct {
	// ReadOnly users may only pull (--sender).
	ReadOnly bool
	// Owner allows -o/-g and the owner maps: rsync running as root would
	// set any owner on the files it writes.
	Owner bool
}

// RsyncPlan is a checked rsync command, ready for the confined runner.
type RsyncPlan struct {
	Args     []string // argv for rsync, "rsync" first
	Dir      string   // host directory to run in: the mount holding the paths
	Writable bool     // whether rsync needs write access to Dir
	Sender   bool
}

// option kinds in the allowlist.
const (
	optFlag  = iota // no argument
	optValue        // an argument that names no path
	optPath         // a path, relative to the destination, kept in the jail
	optOwner        // ownership: allowed only with RsyncOptions.Owner
)

// longOptions is the allowlist of long options a client rsync sends to a
// server (after rrsync). Anything not here is refused.
var longOptions = map[string]int{
	"append": optFlag, "delay-updates": optFlag, "delete": optFlag, "delete-after": optFlag,
	"delete-before": optFlag, "delete-delay": optFlag, "delete-during": optFlag,
	"delete-excluded": optFlag, "delete-missing-args": optFlag, "dirs": optFlag,
	"existing": optFlag, "force": optFlag, "from0": optFlag, "fsync": optFlag, "fuzzy": optFlag,
	"hard-links": optFlag, "ignore-errors": optFlag, "ignore-existing": optFlag,
	"ignore-missing-args": optFlag, "ignore-times": optFlag, "inplace": optFlag, "links": optFlag,
	"list-only": optFlag, "mkpath": optFlag, "msgs2stderr": optFlag, "munge-links": optFlag,
	"new-compress": optFlag, "no-W": optFlag, "no-implied-dirs": optFlag, "no-msgs2stderr": optFlag,
	"no-r": optFlag, "no-relative": optFlag, "no-specials": optFlag, "numeric-ids": optFlag,
	"old-compress": optFlag, "one-file-system": optFlag, "open-noatime": optFlag, "partial": optFlag,
	"perms": optFlag, "preallocate": optFlag, "recursive": optFlag, "remove-sent-files": optFlag,
	"remove-source-files": optFlag, "safe-links": optFlag, "sender": optFlag, "size-only": optFlag,
	"specials": optFlag, "stats": optFlag, "times": optFlag, "use-qsort": optFlag,
	"relative": optFlag, "checksum": optFlag, "compress": optFlag, "whole-file": optFlag,

	"block-size": optValue, "bwlimit": optValue, "checksum-choice": optValue, "checksum-seed": optValue,
	"compress-choice": optValue, "compress-level": optValue, "compress-threads": optValue,
	"iconv": optValue, "info": optValue, "log-format": optValue, "max-delete": optValue,
	"max-size": optValue, "min-size": optValue, "modify-window": optValue, "skip-compress": optValue,
	"suffix": optValue, "timeout": optValue, "stderr": optValue,

	"backup-dir": optPath, "compare-dest": optPath, "copy-dest": optPath, "link-dest": optPath,
	"partial-dir": optPath, "temp-dir": optPath,

	"owner": optOwner, "group": optOwner, "usermap": optOwner, "groupmap": optOwner,
	"chown": optOwner, "super": optOwner, "fake-super": optOwner,
}

// refusedOptions are known-dangerous options, refused with the reason.
var refusedOptions = map[string]string{
	"log-file":          "writes a server file",
	"log-file-format":   "goes with --log-file",
	"write-devices":     "writes to devices",
	"copy-devices":      "reads devices",
	"files-from":        "reads a server file (a local list is sent as --files-from=-)",
	"exclude-from":      "reads a server file",
	"include-from":      "reads a server file",
	"filter":            "filter rules belong on the client",
	"daemon":            "starts a daemon",
	"config":            "reads a server file",
	"rsync-path":        "runs a program",
	"rsh":               "runs a program",
	"copy-unsafe-links": "follows links out of the tree",
	"copy-links":        "follows links out of the tree",
	"copy-dirlinks":     "follows links out of the tree",
	"keep-dirlinks":     "follows links out of the tree",
	"no-munge-links":    "undoes link munging",
	"secluded-args":     "hides arguments from the check",
	"protect-args":      "hides arguments from the check",
	"max-alloc":         "lifts rsync's memory limit",
	"debug":             "writes debugging output",
	"write-batch":       "writes a server file",
	"only-write-batch":  "writes a server file",
	"read-batch":        "reads a server file",
	"confine-root":      "is set by the server",
	"chmod":             "is set by the server",
}

// Short option clusters: rsync's server argv packs flags as "-logDtpre.iLsfxCIvu";
// the part from "e" on is the capability string, not --rsh.
var (
	shortCluster = regexp.MustCompile(`^-([ACDEHIJNORSUWXbcdghlmnoprtuvxyz]*)(e\d*\.[A-Za-z]*)?$`)
	shortNumber  = regexp.MustCompile(`^-[@B]-?\d{1,12}$`)
	// refusedShort are the letters rrsync refuses below a restricted dir:
	// s hides the paths from this check, k/K/L follow symlinks out.
	refusedShort = "sKkL"
)

// ErrRsync wraps every refusal, for the caller to report to the client.
var ErrRsync = errors.New("rsync refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRsync, fmt.Sprintf(format, args...))
}

// CheckRsync checks a client's exec command line ("rsync --server …"),
// maps its paths into the jail and returns the command to run.
func (j *Jail) CheckRsync(cmdline string, o RsyncOptions) (*RsyncPlan, error) {
	if len(cmdline) > maxRsyncCommand {
		return nil, refuse("command longer than %d bytes", maxRsyncCommand)
	}
	args, err := splitCommand(cmdline)
	if err != nil {
		return nil, err
	}
	if len(args) < 2 || args[0] != "rsync" || args[1] != "--server" {
		return nil, refuse(`only "rsync --server …" may run here (use rsync -e ssh, or sftp)`)
	}
	plan := &RsyncPlan{}
	opts, paths, err := checkOptions(args[2:], o, plan)
	if err != nil {
		return nil, err
	}
	if err := j.mapPaths(paths, o, plan); err != nil {
		return nil, err
	}
	// --munge-links: a pushed symlink is stored as "/rsyncd-munged/…",
	// harmless to anything else that reads the jail (a web server, a
	// backup job), and unmunged again when pulled, as rsync daemons do.
	server := []string{"rsync", "--server", "--confine-root=" + plan.Dir, "--munge-links"}
	if !plan.Sender {
		server = append(server, "--chmod=ugo-s") // no setuid/setgid files in a jail
	}
	plan.Args = append(append(append(server, opts...), "."), plan.Args...)
	return plan, nil
}

// checkOptions walks the options up to the "." that ends them and returns
// them and the path arguments after it.
func checkOptions(args []string, o RsyncOptions, plan *RsyncPlan) (opts, paths []string, err error) {
	removeSource := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == ".":
			if plan.Sender && removeSource && o.ReadOnly {
				return nil, nil, refuse("--remove-source-files: read-only user")
			}
			return opts, args[i+1:], nil
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			kind, err := longKind(name, o)
			if err != nil {
				return nil, nil, err
			}
			takesValue := kind == optValue || kind == optPath || name == "usermap" || name == "groupmap" || name == "chown"
			if takesValue && !hasVal {
				if i+1 >= len(args) {
					return nil, nil, refuse("--%s needs a value", name)
				}
				i++
				val, hasVal = args[i], true
			}
			if hasVal && !takesValue {
				return nil, nil, refuse("--%s takes no value", name)
			}
			if err := checkValue(name, val, kind); err != nil {
				return nil, nil, err
			}
			switch name {
			case "sender":
				plan.Sender = true
			case "remove-source-files", "remove-sent-files":
				removeSource = true
			}
			if takesValue {
				a = "--" + name + "=" + val
			}
		case shortNumber.MatchString(a):
		case strings.HasPrefix(a, "-"):
			if err := checkShort(a, o); err != nil {
				return nil, nil, err
			}
		default:
			return nil, nil, refuse("unexpected argument %q before \".\"", a)
		}
		opts = append(opts, a)
	}
	return nil, nil, refuse(`no "." ends the options`)
}

func longKind(name string, o RsyncOptions) (int, error) {
	if why, ok := refusedOptions[name]; ok {
		return 0, refuse("--%s %s", name, why)
	}
	kind, ok := longOptions[name]
	if !ok {
		return 0, refuse("unknown option --%s", name)
	}
	if kind == optOwner && !o.Owner {
		return 0, refuse("--%s sets file owners; not allowed for this user (rsync_owner = false): use -rlptD instead of -a", name)
	}
	return kind, nil
}

func checkValue(name, val string, kind int) error {
	if len(val) > maxOptionValue || strings.ContainsAny(val, "\x00\n") {
		return refuse("--%s: bad value", name)
	}
	switch {
	case kind == optPath:
		if val == "" || strings.HasPrefix(val, "/") || hasDotDot(val) {
			return refuse("--%s=%q: must be a relative path inside the destination, without ..", name, val)
		}
	case name == "suffix" && strings.Contains(val, "/"):
		return refuse("--suffix must not contain /")
	case name == "stderr" && val != "errors" && val != "all" && val != "client":
		return refuse("--stderr=%q: want errors, all or client", val)
	}
	return nil
}

func checkShort(a string, o RsyncOptions) error {
	m := shortCluster.FindStringSubmatch(a)
	if m == nil {
		for _, c := range a[1:] {
			if strings.ContainsRune(refusedShort, c) {
				return refuse("-%c is not allowed here (it follows symlinks out of the tree or hides arguments)", c)
			}
		}
		return refuse("unknown option %q", a)
	}
	if !o.Owner && strings.ContainsAny(m[1], "og") {
		return refuse("-o/-g (part of -a) set file owners; not allowed for this user (rsync_owner = false): use rsync -rlptD instead of -a")
	}
	return nil
}

// mapPaths checks the path arguments and records them relative to the one
// mount that holds them all.
func (j *Jail) mapPaths(paths []string, o RsyncOptions, plan *RsyncPlan) error {
	switch {
	case len(paths) == 0:
		return refuse("no path given")
	case len(paths) > maxRsyncPaths:
		return refuse("more than %d paths", maxRsyncPaths)
	case !plan.Sender && len(paths) != 1:
		return refuse("a push names exactly one destination")
	}
	var m0 *mount
	for _, p := range paths {
		m, rel, err := j.mapPath(p)
		if err != nil {
			return err
		}
		if m0 != nil && m != m0 {
			return refuse("paths on different mounts (%s and %s) need separate rsync runs", m0.Path, m.Path)
		}
		m0 = m
		plan.Args = append(plan.Args, rel)
	}
	if !plan.Sender && (o.ReadOnly || m0.ReadOnly) {
		return refuse("%s is read-only: you may only pull from it", m0.Path)
	}
	plan.Dir = m0.Dir
	plan.Writable = !plan.Sender && !m0.ReadOnly && !o.ReadOnly
	return nil
}

// mapPath maps one rsync path argument to its mount and a path relative to
// the mount's directory, keeping a trailing "/" (which means "the contents
// of" to rsync). ".." anywhere is refused rather than cleaned.
func (j *Jail) mapPath(p string) (*mount, string, error) {
	if p == "" || strings.ContainsAny(p, "\x00\n") || hasDotDot(p) || len(p) > 4096 {
		return nil, "", refuse("path %q: must stay inside your directory, without ..", p)
	}
	m, rel, err := j.route(p)
	if err != nil {
		return nil, "", refuse("path %q is outside your directory", p)
	}
	if strings.HasSuffix(p, "/") && rel != "." {
		rel += "/"
	}
	if rel == "." && strings.HasSuffix(p, "/") {
		rel = "./"
	}
	return m, rel, nil
}

func hasDotDot(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return true
		}
	}
	return false
}

// splitCommand splits an exec request as rsync's client quotes it for a
// remote shell: words separated by spaces, a backslash escaping the next
// character. Quotes are refused rather than guessed at.
func splitCommand(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 == len(s) {
				return nil, refuse("command ends in a backslash")
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'' || c == '"' || c == '\n' || c == 0 || c == '`' || c == '$' || c == ';' || c == '|' || c == '&':
			return nil, refuse("unexpected %q in the command", c)
		default:
			cur.WriteByte(c)
			inWord = true
		}
		if len(args) > maxRsyncArgs {
			return nil, refuse("more than %d arguments", maxRsyncArgs)
		}
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}
