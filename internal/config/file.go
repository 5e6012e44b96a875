package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// Size limits of the files a config names, by kind: a path pointing at
// /dev/zero or a log file must fail at once, not fill the memory.
const (
	MaxConfigFile     = 4 << 20
	MaxSecretFile     = 4 << 10
	MaxAuthorizedKeys = 1 << 20
	MaxPageFile       = 1 << 20
	MaxCAFile         = 4 << 20
	MaxCertFile       = 1 << 20
	MaxAliasesFile    = 16 << 20
	MaxFeatureFile    = 1 << 20
)

// ErrNotRegular is returned for a FIFO, a device or a socket.
var ErrNotRegular = errors.New("not a regular file")

// OpenFile opens a file the config names, for reading: a regular file of at
// most limit bytes. O_NONBLOCK keeps a FIFO from hanging the open; the type
// check then refuses it, and /dev/zero, before anything is read. Errors are
// *os.PathError so that callers may name the path themselves (see Reason).
func OpenFile(path string, limit int64) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	switch {
	case err != nil:
	case st.IsDir():
		err = errors.New("is a directory, expected a file")
	case !st.Mode().IsRegular():
		err = ErrNotRegular
	case st.Size() > limit:
		err = fmt.Errorf("larger than %d bytes", limit)
	}
	if err != nil {
		f.Close()
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return f, nil
}

// ReadFile reads a file the config names through OpenFile; a file that grows
// past limit while being read is refused too.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := OpenFile(path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(f, limit)
}

func readAll(f *os.File, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &os.PathError{Op: "read", Path: f.Name(), Err: fmt.Errorf("larger than %d bytes", limit)}
	}
	return b, nil
}

// Reason drops the path from an *os.PathError, for messages that already
// name it.
func Reason(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
