// Package maildrop is the directory where `sendmail` leaves messages when
// the daemon is not running; the daemon queues them when it starts and
// whenever it finds new ones.
//
// A drop is written to a hidden temporary name, fsynced, renamed to its
// final name and the directory fsynced: `sendmail` exits 0 only then. The
// daemon never follows symlinks here and bounds what it reads, because the
// directory may be writable by local users (see the Mail section of README.md).
package maildrop

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"bartleby/internal/mail/spoolfile"
)

const magic = "BARTLEBY-MAILDROP 1\n"

// Envelope is who a dropped message is from and for.
type Envelope struct {
	From  string   `json:"from"`
	Rcpts []string `json:"rcpts"`
}

// Write drops a message durably into dir, creating it (0700) if needed:
// before the daemon's first start, only sendmail may have run.
func Write(dir string, env Envelope, data io.Reader) (name string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	name = fmt.Sprintf("%d-%s", time.Now().UnixNano(), hex.EncodeToString(rnd[:]))
	tmp := filepath.Join(dir, "."+name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	w := bufio.NewWriter(f)
	if _, err = spoolfile.WriteHeader(w, magic, env); err != nil {
		f.Close()
		return "", err
	}
	if _, err = io.Copy(w, data); err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return "", err
	}
	if err = syncDir(dir); err != nil {
		// Not durable: sendmail reports a failure and its caller sends
		// again, so the drop must not be picked up as well.
		os.Remove(filepath.Join(dir, name))
		return "", err
	}
	return name, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// staleTemp is the age at which a drop's temporary file is taken to be
// left by a sendmail that was killed while writing: writing one takes
// seconds, since sendmail has the whole message before it starts.
const staleTemp = time.Hour

// RemoveStale deletes the temporary files of drops older than an hour
// and returns their names; nothing else would ever remove them.
func RemoveStale(dir string, now time.Time) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var gone []string
	for _, e := range entries {
		name, temp := strings.CutPrefix(e.Name(), ".")
		if !temp || !ValidName(name) || !e.Type().IsRegular() {
			continue // set-aside drops start with ".bad-", which ValidName refuses
		}
		if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > staleTemp {
			if os.Remove(filepath.Join(dir, e.Name())) == nil {
				gone = append(gone, e.Name())
			}
		}
	}
	return gone, nil
}

// Drop is a message found in the maildrop.
type Drop struct {
	Path string
	UID  uint32 // owner of the file: who dropped it
	Envelope
	Data io.Reader
	f    *os.File
}

// Close releases the file.
func (d *Drop) Close() error { return d.f.Close() }

// List returns the names of complete drops, oldest first.
func List(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") && e.Type().IsRegular() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Open reads a drop's envelope; its data follows. Symlinks and files larger
// than maxSize (plus the envelope) are refused.
func Open(dir, name string, maxSize int64) (*Drop, error) {
	p := filepath.Join(dir, name)
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, errors.New("not a regular file")
	}
	if st.Size() > maxSize+spoolfile.MaxEnvelope+int64(len(magic)+1) {
		f.Close()
		return nil, fmt.Errorf("larger than the maximum message size (%d bytes)", maxSize)
	}
	d := &Drop{Path: p, f: f}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		d.UID = sys.Uid
	}
	br := bufio.NewReader(f)
	n, err := spoolfile.ReadHeader(br, magic, &d.Envelope)
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.Size()-n > maxSize {
		f.Close()
		return nil, fmt.Errorf("larger than the maximum message size (%d bytes)", maxSize)
	}
	d.Data = br
	return d, nil
}
