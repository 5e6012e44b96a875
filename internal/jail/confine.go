package jail

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"github.com/landlock-lsm/go-landlock/landlock"
	"golang.org/x/sys/unix"
)

// RsyncBinary is the system rsync the confined runner executes.
const RsyncBinary = "/usr/bin/rsync"

// minLandlockABI is the oldest Landlock that confines enough: ABI 3 (Linux
// 6.2) adds truncate, without which rsync could truncate any file the
// daemon's user may write.
const minLandlockABI = 3

// minRsync is the oldest rsync accepted: 3.5.0 fixed many CVEs and brought
// --confine-root, which the runner passes.
var minRsync = [3]int{3, 5, 0}

// ConfineCommand is the hidden bartleby subcommand that confines itself and
// then execs rsync ("bartleby sftp rsync-exec").
var ConfineCommand = []string{"sftp", "rsync-exec"}

// LandlockABI probes the kernel's Landlock ABI version; 0 when absent or
// disabled.
func LandlockABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}

var (
	supportOnce sync.Once
	supportErr  error
)

// RsyncSupport reports why rsync cannot be offered here, or nil: it needs
// Landlock ABI ≥ 3 (rsync never runs unconfined) and rsync ≥ 3.5.0.
func RsyncSupport() error {
	supportOnce.Do(func() { supportErr = rsyncSupport() })
	return supportErr
}

func rsyncSupport() error {
	if abi := LandlockABI(); abi < minLandlockABI {
		return fmt.Errorf("rsync needs Landlock ABI %d (Linux ≥ 6.2 with landlock in the lsm= list); this kernel has ABI %d, and rsync is never run unconfined", minLandlockABI, abi)
	}
	out, err := exec.Command(RsyncBinary, "--version").Output()
	if err != nil {
		return fmt.Errorf("rsync: cannot run %s --version: %v (install the rsync package)", RsyncBinary, err)
	}
	m := regexp.MustCompile(`rsync\s+version\s+v?(\d+)\.(\d+)\.(\d+)`).FindSubmatch(out)
	if m == nil {
		return fmt.Errorf("rsync: cannot read the version of %s", RsyncBinary)
	}
	var v [3]int
	for i := range v {
		v[i], _ = strconv.Atoi(string(m[i+1]))
	}
	if v[0] < minRsync[0] || v[0] == minRsync[0] && (v[1] < minRsync[1] || v[1] == minRsync[1] && v[2] < minRsync[2]) {
		return fmt.Errorf("rsync: %s is version %d.%d.%d; 3.5.0 or later is required (security fixes and --confine-root)", RsyncBinary, v[0], v[1], v[2])
	}
	return nil
}

// Command builds the confined runner for plan: this binary re-executed with
// the hidden subcommand, which applies Landlock and then execs rsync.
func (p *RsyncPlan) Command(ctx context.Context) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("rsync: finding bartleby's own binary: %w", err)
	}
	args := append([]string{}, ConfineCommand...)
	args = append(args, "--dir", p.Dir, "--umask", fmt.Sprintf("%03o", p.Perms.Umask))
	if p.Writable {
		args = append(args, "--writable")
	}
	args = append(append(args, "--"), p.Args...)
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Dir = p.Dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd, nil
}

// readOnlySystem is what rsync needs to start: its binary, the dynamic
// loader and libraries. Nothing that is not public: no /etc/passwd or
// /etc/group (rsync runs with LC_ALL=C, and maps owners by number where
// it cannot by name), so that even a path that led out of the jail would
// find nothing worth reading.
var readOnlySystem = []string{"/usr/lib", "/usr/lib64", "/lib", "/lib64"}

var readOnlyFiles = []string{RsyncBinary, "/etc/ld.so.cache", "/etc/ld.so.preload"}

// RunConfined is the hidden subcommand's body: restrict this process with
// Landlock to read-only system files and dir (read-write when writable),
// set umask (what rsync applies without -p, and to its temporary files),
// then exec rsync with args. It returns only on failure; nothing is run
// unconfined.
func RunConfined(dir string, writable bool, umask fs.FileMode, args []string) error {
	if len(args) == 0 || args[0] != "rsync" {
		return errors.New("rsync-exec: want rsync arguments")
	}
	abi := LandlockABI()
	if abi < minLandlockABI {
		return fmt.Errorf("rsync-exec: Landlock ABI %d < %d; refusing to run rsync unconfined", abi, minLandlockABI)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	// No execute, no device nodes in the jail; everything else that
	// Landlock handles is allowed there.
	jailRights := landlock.AccessFSSet(unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR)
	if writable {
		jailRights |= unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR |
			unix.LANDLOCK_ACCESS_FS_REMOVE_FILE | unix.LANDLOCK_ACCESS_FS_MAKE_DIR |
			unix.LANDLOCK_ACCESS_FS_MAKE_REG | unix.LANDLOCK_ACCESS_FS_MAKE_SOCK |
			unix.LANDLOCK_ACCESS_FS_MAKE_FIFO | unix.LANDLOCK_ACCESS_FS_MAKE_SYM |
			unix.LANDLOCK_ACCESS_FS_REFER | unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	rules := []landlock.Rule{
		landlock.RODirs(readOnlySystem...).IgnoreIfMissing(),
		landlock.ROFiles(readOnlyFiles...).IgnoreIfMissing(),
		landlock.RWFiles("/dev/null"),
		landlock.PathAccess(jailRights, dir),
	}
	// Strict (never best-effort) at the newest ABI both sides know, capped
	// so a future kernel cannot make the rules mean something else. V6
	// adds signals and abstract sockets, V9 connecting to
	// pathname sockets: rsync runs as the daemon's user, whose control
	// socket it must not reach.
	configs := map[int]landlock.Config{3: landlock.V3, 4: landlock.V4, 5: landlock.V5, 6: landlock.V6,
		7: landlock.V7, 8: landlock.V8, 9: landlock.V9}
	cfg := configs[min(abi, 9)]
	if err := cfg.Restrict(rules...); err != nil {
		return fmt.Errorf("rsync-exec: applying Landlock: %w", err)
	}
	if err := os.Chdir(dir); err != nil {
		return fmt.Errorf("rsync-exec: %w", err)
	}
	// The thread that drops the capabilities is the one that execs.
	runtime.LockOSThread()
	if err := dropPrivileges(); err != nil {
		return fmt.Errorf("rsync-exec: %w", err)
	}
	unix.Umask(int(umask.Perm()))
	// No core dump: it would be written into the jail (rsync's working
	// directory), where the user reads it and a web server may serve it.
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("rsync-exec: no core dumps: %w", err)
	}
	env := []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=" + dir}
	return syscall.Exec(RsyncBinary, args, env)
}
