package jail

import (
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"strconv"
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
	Perms    Perms // the user's umask and group
	// removeSource: a pull that deletes what it sent, a change like a push.
	removeSource bool
}

// capabilityString is the tail of the server's short-option cluster:
// rsync packs "-logDtpre.iLsfxCIvu", where "e.iLsfxCIvu" tells the server
// the client's capabilities and is not --rsh.
var capabilityString = regexp.MustCompile(`^e\d*\.[A-Za-z]*$`)

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
	plan := &RsyncPlan{Perms: j.perms}
	opts, paths, err := checkOptions(args[2:], o, plan)
	if err != nil {
		return nil, err
	}
	if paths, err = j.mapPaths(paths, o, plan); err != nil {
		return nil, err
	}
	// "--" ends rsync's options before the "." (as rrsync does), and each
	// path is also kept from looking like one (notAnOption).
	plan.Args = append(append(append([]string{"rsync", "--server"}, opts...), serverOptions(plan)...), "--", ".")
	plan.Args = append(plan.Args, paths...)
	return plan, nil
}

// serverOptions are the options bartleby adds after the client's, so that
// rsync's "last one wins" keeps them whatever the client sent.
func serverOptions(plan *RsyncPlan) []string {
	// --confine-root: filter merge files and --files-from names arrive over
	// the protocol and are bounded by rsync itself. --munge-links: a pushed
	// symlink is stored as "/rsyncd-munged/…", harmless to anything else
	// that reads the jail (a web server, a backup job), and unmunged again
	// when pulled, as rsync daemons do.
	opts := []string{"--confine-root=" + plan.Dir, "--munge-links"}
	if !plan.Sender {
		// No setuid, setgid or sticky bits, no devices or FIFOs, no
		// owners beyond what an unprivileged user may set, even if the
		// confined child had the capabilities (it has none).
		opts = append(opts, "--chmod="+rsyncChmod(plan.Perms), "--drop-D", "--no-super")
	}
	return opts
}

// rsyncChmod is the receiver's --chmod for perms, applied to every mode
// rsync sets (with -p too, where the process umask is not): no setuid,
// setgid or sticky bits; directories setgid when the user has a group, so
// that everything rsync makes below them inherits it (rsync itself only
// sets groups with -g, which the client would have to send); none of the
// umask's bits. Umask 022 gives "a-st,g-w,o-w".
func rsyncChmod(p Perms) string {
	clauses := []string{"a-st"}
	if p.Group != 0 {
		clauses = append(clauses, "Dg+s")
	}
	for i, who := range []string{"u", "g", "o"} {
		bits := p.Umask >> (3 * (2 - i)) & 7
		if bits == 0 {
			continue
		}
		letters := ""
		for j, l := range "rwx" {
			if bits&(4>>j) != 0 {
				letters += string(l)
			}
		}
		clauses = append(clauses, who+"-"+letters)
	}
	return strings.Join(clauses, ",")
}

// checkOptions walks the options up to the "." that ends them and returns
// them and the path arguments after it.
func checkOptions(args []string, o RsyncOptions, plan *RsyncPlan) (opts, paths []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == ".":
			return opts, args[i+1:], nil
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			opt, err := lookupOption(rsyncLong[name], "--"+name, o)
			if err != nil {
				return nil, nil, err
			}
			if opt.value != noValue && !hasVal {
				if i+1 >= len(args) {
					return nil, nil, refuse("--%s needs a value", name)
				}
				i++
				val, hasVal = args[i], true
			}
			if hasVal && opt.value == noValue {
				return nil, nil, refuse("--%s takes no value", name)
			}
			if err := checkValue(opt, val); err != nil {
				return nil, nil, err
			}
			switch name {
			case "sender":
				plan.Sender = true
			case "remove-source-files", "remove-sent-files":
				plan.removeSource = true
			}
			if hasVal {
				a = "--" + name + "=" + val
			}
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

// lookupOption applies an option's rule; spelled is how the client wrote
// it, for the message.
func lookupOption(opt *rsyncOption, spelled string, o RsyncOptions) (*rsyncOption, error) {
	if opt == nil {
		return nil, refuse("unknown option %s", spelled)
	}
	if spelled != "--"+opt.long {
		spelled += " (--" + opt.long + ")"
	}
	switch {
	case opt.rule == refused:
		return nil, refuse("%s %s", spelled, opt.why)
	case opt.rule == ownerOnly && !o.Owner:
		return nil, refuse("%s sets file owners; not allowed for this user (rsync_owner = false): use rsync -rlptD instead of -a", spelled)
	}
	return opt, nil
}

func checkValue(opt *rsyncOption, val string) error {
	if len(val) > maxOptionValue || strings.ContainsAny(val, "\x00\n") {
		return refuse("--%s: bad value", opt.long)
	}
	switch {
	case opt.value == pathValue:
		if val == "" || strings.HasPrefix(val, "/") || hasDotDot(val) {
			return refuse("--%s=%q: must be a relative path inside the destination, without ..", opt.long, val)
		}
	case opt.value == numberValue:
		if !isNumber(val) {
			return refuse("--%s=%q: want a number", opt.long, val)
		}
		if n, _ := strconv.ParseInt(val, 10, 64); opt.max != 0 && n > opt.max {
			return refuse("--%s=%s: at most %d here", opt.long, val, opt.max)
		}
	case opt.long == "files-from" && val != "-":
		return refuse("--files-from=%q reads a server file; a list on your side is sent as --files-from=-", val)
	case opt.long == "suffix" && strings.Contains(val, "/"):
		return refuse("--suffix must not contain /")
	case opt.long == "stderr" && val != "errors" && val != "all" && val != "client":
		return refuse("--stderr=%q: want errors, all or client", val)
	}
	return nil
}

// checkShort checks a short-option argument letter by letter against the
// same table as the long forms: a cluster of flags, optionally ending in
// the capability string, or one letter taking a number ("-B1024",
// "-@-1").
func checkShort(a string, o RsyncOptions) error {
	if len(a) < 2 {
		return refuse("unknown option %q", a)
	}
	for i := 1; i < len(a); i++ {
		c := a[i]
		if c == 'e' && capabilityString.MatchString(a[i:]) {
			return nil
		}
		opt, err := lookupOption(rsyncShort[c], "-"+string(rune(c)), o)
		if err != nil {
			return err
		}
		if opt.value != noValue {
			if i != 1 || !isNumber(a[2:]) {
				return refuse("-%c takes a number, as in -%c1024", c, c)
			}
			return checkValue(opt, a[2:])
		}
	}
	return nil
}

// isNumber accepts an optionally negative decimal of at most 12 digits.
func isNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || len(s) > 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// mapPaths checks the path arguments and records them relative to the one
// mount that holds them all.
func (j *Jail) mapPaths(paths []string, o RsyncOptions, plan *RsyncPlan) ([]string, error) {
	switch {
	case len(paths) == 0:
		return nil, refuse("no path given")
	case len(paths) > maxRsyncPaths:
		return nil, refuse("more than %d paths", maxRsyncPaths)
	case !plan.Sender && len(paths) != 1:
		return nil, refuse("a push names exactly one destination")
	}
	var m0 *mount
	var rels []string
	for _, p := range paths {
		m, rel, err := j.mapPath(p)
		if err != nil {
			return nil, err
		}
		if m0 != nil && m != m0 {
			return nil, refuse("paths on different mounts (%s and %s) need separate rsync runs", m0.Path, m.Path)
		}
		m0 = m
		rels = append(rels, rel)
	}
	for _, rel := range rels {
		if err := checkResolves(m0.root, rel, plan.Sender); err != nil {
			return nil, err
		}
	}
	changes := !plan.Sender || plan.removeSource
	if changes && (o.ReadOnly || m0.ReadOnly) {
		return nil, refuse("%s is read-only: you may only pull from it, without --remove-source-files", m0.Path)
	}
	plan.Dir = m0.Dir
	plan.Writable = changes
	return rels, nil
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
	return m, notAnOption(rel), nil
}

// notAnOption keeps a path from being read as an option: rsync's option
// parser (popt) takes options after the "." and the paths too, after the
// ones bartleby adds, so a destination named "--chmod=u+s" would undo
// them (a setuid file, owned by the daemon's user) and "-X" would pass
// the table unchecked. "./-x" names the same file, also with -R (the
// "./" marks where the transmitted name starts).
func notAnOption(rel string) string {
	if strings.HasPrefix(rel, "-") {
		return "./" + rel
	}
	return rel
}

// checkResolves refuses a path argument that leads out of its mount
// through a symlink (one planted on the host, say: the user cannot make
// one). rsync follows the links in the paths it is given, rsync's own
// checks trust links owned by root, and Landlock still lets rsync read
// the libraries it runs on. os.Root resolves the path as rsync will and
// refuses any escape. A sender does not follow a last component named
// without a trailing "/" (it sends the link itself), so only its
// directory is resolved; a receiver writes through it, so all of it is.
// A sender expands wildcards (glob) itself: they are allowed only in the
// last component, after a directory resolved here.
func checkResolves(root *os.Root, rel string, sender bool) error {
	dir, last := path.Split(rel)
	if strings.ContainsAny(dir, "*?[") || strings.ContainsAny(rel, "*?[") && (last == "" || strings.Contains(rel, "\\")) {
		return refuse("path %q: wildcards only in its last component", rel)
	}
	resolve := rel
	if sender && last != "" && last != "." {
		resolve = path.Clean("./" + dir)
	}
	if _, err := root.Stat(resolve); isEscape(err) {
		return refuse("path %q leads out of your directory through a symlink", rel)
	}
	return nil
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
