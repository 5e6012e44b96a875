package jail

// The one allowlist of the options a client's rsync may send to the
// server. Every short letter is written beside its long name, so the two
// spellings of an option cannot be judged differently: checkShort and
// checkLong both look the option up here. The set of options follows
// rrsync (rsync's own restricted wrapper, /usr/bin/rrsync): what a stock
// client sends, plus its "subdir" refusals (-k -K -L) and -s; bartleby
// refuses more (-A, -X, --super, the link-following and file-naming
// options) because its rsync may run as root.

// rsyncValue says whether and what kind of value an option takes.
type rsyncValue int

const (
	noValue     rsyncValue = iota
	textValue              // a value that names no path (a size, a format)
	numberValue            // a decimal number, at most max when max is set
	pathValue              // a path, relative to the destination, kept in the jail
)

// rsyncRule says who may use an option.
type rsyncRule int

const (
	allowed   rsyncRule = iota
	ownerOnly           // sets file owners: only with RsyncOptions.Owner
	refused             // never; why says what it would do
)

type rsyncOption struct {
	long  string
	short byte // 0: no short form
	value rsyncValue
	rule  rsyncRule
	why   string // for refused options
	max   int64  // for numberValue: the largest accepted, 0 for any
}

var rsyncOptionTable = []rsyncOption{
	// Short letters rrsync accepts ('ACDEHIJKLNORSUWXbcdgklmnopqrstuvxyz',
	// '@' and 'B' with a number), each with its long form.
	{long: "acls", short: 'A', rule: refused, why: "sets ACLs"},
	{long: "cvs-exclude", short: 'C'},
	{long: "devices", short: 'D'}, // -D is --devices --specials; the receiver gets --drop-D
	{long: "executability", short: 'E'},
	{long: "hard-links", short: 'H'},
	{long: "ignore-times", short: 'I'},
	{long: "omit-link-times", short: 'J'},
	{long: "keep-dirlinks", short: 'K', rule: refused, why: "follows links out of the tree"},
	{long: "copy-links", short: 'L', rule: refused, why: "follows links out of the tree"},
	{long: "crtimes", short: 'N'},
	{long: "omit-dir-times", short: 'O'},
	{long: "relative", short: 'R'},
	{long: "sparse", short: 'S'},
	{long: "atimes", short: 'U'},
	{long: "whole-file", short: 'W'},
	{long: "xattrs", short: 'X', rule: refused, why: "sets extended attributes (security.capability among them)"},
	{long: "backup", short: 'b'},
	{long: "checksum", short: 'c'},
	{long: "dirs", short: 'd'},
	{long: "group", short: 'g', rule: ownerOnly},
	{long: "human-readable", short: 'h'},
	{long: "copy-dirlinks", short: 'k', rule: refused, why: "follows links out of the tree"},
	{long: "links", short: 'l'},
	{long: "prune-empty-dirs", short: 'm'},
	{long: "dry-run", short: 'n'},
	{long: "owner", short: 'o', rule: ownerOnly},
	{long: "perms", short: 'p'},
	{long: "quiet", short: 'q'},
	{long: "recursive", short: 'r'},
	{long: "secluded-args", short: 's', rule: refused, why: "hides arguments from the check"},
	{long: "times", short: 't'},
	{long: "update", short: 'u'},
	{long: "verbose", short: 'v'},
	{long: "one-file-system", short: 'x'},
	{long: "fuzzy", short: 'y'},
	{long: "compress", short: 'z'},
	{long: "modify-window", short: '@', value: numberValue},
	{long: "block-size", short: 'B', value: numberValue},

	// Long-only flags.
	{long: "append"}, {long: "delay-updates"}, {long: "delete"}, {long: "delete-after"},
	{long: "delete-before"}, {long: "delete-delay"}, {long: "delete-during"},
	{long: "delete-excluded"}, {long: "delete-missing-args"}, {long: "existing"},
	{long: "force"}, {long: "from0"}, {long: "fsync"}, {long: "ignore-errors"},
	{long: "ignore-existing"}, {long: "ignore-missing-args"}, {long: "inplace"},
	{long: "list-only"}, {long: "mkpath"}, {long: "msgs2stderr"}, {long: "munge-links"},
	{long: "new-compress"}, {long: "no-W"}, {long: "no-implied-dirs"}, {long: "no-msgs2stderr"},
	{long: "no-r"}, {long: "no-relative"}, {long: "no-specials"}, {long: "numeric-ids"},
	{long: "old-compress"}, {long: "open-noatime"}, {long: "partial"}, {long: "preallocate"},
	{long: "remove-sent-files"}, {long: "remove-source-files"}, {long: "safe-links"},
	{long: "sender"}, {long: "size-only"}, {long: "specials"}, {long: "stats"}, {long: "use-qsort"},

	// Long options with a value.
	{long: "bwlimit", value: textValue}, {long: "checksum-choice", value: textValue},
	{long: "checksum-seed", value: numberValue}, {long: "compress-choice", value: textValue},
	// The sender's compressor runs in the daemon's memory and CPU: zstd's
	// "ultra" levels (20-22) take ~700 MB for one transfer, against
	// ~100 MB at 19 (zlib stops at 9); threads multiply it.
	{long: "compress-level", value: numberValue, max: 19}, {long: "compress-threads", value: numberValue, max: 2},
	{long: "iconv", value: textValue}, {long: "info", value: textValue},
	// Only "-": the client's list, sent over the connection, whose names
	// --confine-root and Landlock bound like any other.
	{long: "files-from", value: textValue},
	{long: "log-format", value: textValue}, {long: "max-delete", value: numberValue},
	{long: "max-size", value: textValue}, {long: "min-size", value: textValue},
	{long: "skip-compress", value: textValue}, {long: "suffix", value: textValue},
	{long: "timeout", value: numberValue}, {long: "stderr", value: textValue},
	{long: "backup-dir", value: pathValue}, {long: "compare-dest", value: pathValue},
	{long: "copy-dest", value: pathValue}, {long: "link-dest", value: pathValue},
	{long: "partial-dir", value: pathValue}, {long: "temp-dir", value: pathValue},

	// Owners and their maps.
	{long: "usermap", value: textValue, rule: ownerOnly},
	{long: "groupmap", value: textValue, rule: ownerOnly},
	{long: "chown", value: textValue, rule: ownerOnly},
	{long: "fake-super", rule: ownerOnly},

	// Refused long options, with the reason the client is told.
	{long: "super", rule: refused, why: "does super-user things (devices, owners) as root"},
	{long: "log-file", value: textValue, rule: refused, why: "writes a server file"},
	{long: "log-file-format", value: textValue, rule: refused, why: "goes with --log-file"},
	{long: "write-devices", rule: refused, why: "writes to devices"},
	{long: "copy-devices", rule: refused, why: "reads devices"},
	{long: "exclude-from", value: textValue, rule: refused, why: "reads a server file"},
	{long: "include-from", value: textValue, rule: refused, why: "reads a server file"},
	{long: "filter", value: textValue, rule: refused, why: "filter rules belong on the client"},
	{long: "daemon", rule: refused, why: "starts a daemon"},
	{long: "config", value: textValue, rule: refused, why: "reads a server file"},
	{long: "rsync-path", value: textValue, rule: refused, why: "runs a program"},
	{long: "rsh", value: textValue, rule: refused, why: "runs a program"},
	{long: "copy-unsafe-links", rule: refused, why: "follows links out of the tree"},
	{long: "no-munge-links", rule: refused, why: "undoes link munging"},
	{long: "insecure-links", rule: refused, why: "turns off rsync's link checks"},
	{long: "protect-args", rule: refused, why: "hides arguments from the check"},
	{long: "max-alloc", value: textValue, rule: refused, why: "lifts rsync's memory limit"},
	{long: "debug", value: textValue, rule: refused, why: "writes debugging output"},
	{long: "write-batch", value: textValue, rule: refused, why: "writes a server file"},
	{long: "only-write-batch", value: textValue, rule: refused, why: "writes a server file"},
	{long: "read-batch", value: textValue, rule: refused, why: "reads a server file"},
	{long: "confine-root", value: textValue, rule: refused, why: "is set by the server"},
	{long: "chmod", value: textValue, rule: refused, why: "is set by the server"},
	{long: "drop-D", rule: refused, why: "is set by the server"},
	{long: "no-super", rule: refused, why: "is set by the server"},
}

// The table indexed both ways; built once, so lookups cannot disagree.
var (
	rsyncLong  = map[string]*rsyncOption{}
	rsyncShort = map[byte]*rsyncOption{}
)

func init() {
	for i := range rsyncOptionTable {
		o := &rsyncOptionTable[i]
		if rsyncLong[o.long] != nil || o.short != 0 && rsyncShort[o.short] != nil {
			panic("rsync option table: duplicate " + o.long)
		}
		rsyncLong[o.long] = o
		if o.short != 0 {
			rsyncShort[o.short] = o
		}
	}
}
