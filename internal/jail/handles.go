package jail

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/pkg/sftp"
)

// MaxHandles bounds the files and directories one connection holds open
// through SFTP at once. pkg/sftp keeps every handle a client opens until
// the client closes it, each an open descriptor of the daemon's, so
// without a bound one client could take every descriptor the daemon has
// (its web and mail parts too). OpenSSH's sftp client holds one or two at
// a time; sshfs one per file a program has open.
const MaxHandles = 256

// errTooManyHandles is what an open past the budget answers.
var errTooManyHandles = fmt.Errorf("more than %d files and directories open at once: %w", MaxHandles, sftp.ErrSSHFxFailure)

// handleBudget counts the open handles of one jail (one connection).
type handleBudget struct{ n atomic.Int32 }

// take reserves one handle, or refuses when all are in use.
func (b *handleBudget) take() error {
	if b.n.Add(1) > MaxHandles {
		b.n.Add(-1)
		return errTooManyHandles
	}
	return nil
}

func (b *handleBudget) give() { b.n.Add(-1) }

// dirLister reads a directory as the client asks for entries, a batch at
// a time: a huge directory costs a batch of memory, not all of it at
// once. Mount points inside it are listed after its own entries, in
// place of any entry of the same name (which a bind mount would hide).
type dirLister struct {
	mu     sync.Mutex
	d      *os.File
	next   int64 // the offset of the next entry
	mounts []os.FileInfo
	hidden map[string]bool // the mounts' names
	done   bool            // the directory's own entries are all read
	budget *handleBudget
	closed bool
}

// ListAt returns entries from off on. pkg/sftp asks for them in order;
// any other offset is an error rather than a re-read.
func (l *dirLister) ListAt(out []os.FileInfo, off int64) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if off != l.next {
		return 0, fmt.Errorf("directory read out of order (offset %d, want %d)", off, l.next)
	}
	n := 0
	for n < len(out) && !l.done {
		infos, err := l.d.Readdir(len(out) - n)
		for _, fi := range infos {
			if !l.hidden[fi.Name()] {
				out[n] = fi
				n++
			}
		}
		if errors.Is(err, io.EOF) || err == nil && len(infos) == 0 {
			l.done = true
		} else if err != nil {
			l.next += int64(n)
			return n, denyEscape(err)
		}
	}
	for n < len(out) && len(l.mounts) > 0 {
		out[n], l.mounts = l.mounts[0], l.mounts[1:]
		n++
	}
	l.next += int64(n)
	if l.done && len(l.mounts) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// Close releases the directory and its handle, once.
func (l *dirLister) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.budget.give()
	return l.d.Close()
}
