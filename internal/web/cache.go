package web

import (
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Bounds of the small-file cache of one static route: at most
// maxCachedFiles × maxCachedFile bytes (16 MiB).
const (
	maxCachedFile  = 16 << 10
	maxCachedFiles = 1024
)

// fileCache keeps the content of small files so that serving one costs a
// stat instead of open, read and close. An entry is used only while the
// file's inode, size, mtime and ctime are those it was read with, so a
// changed file is never served stale; ctime cannot be set back by touch.
type fileCache struct {
	mu sync.RWMutex
	m  map[string]*cached
}

// cached is a small file in memory with the header values of its
// responses, made once when it is read rather than for every request. The
// slices are shared by every response and never modified.
type cached struct {
	id   fileID
	data []byte
	// ctype, etag and length are the Content-Type, ETag and
	// Content-Length values; lastModified is nil for a file without a
	// usable mtime, as http.ServeContent then sends none.
	ctype, etag, length, lastModified []string
}

type fileID struct {
	dev, ino           uint64
	size, mtime, ctime int64
}

func idOf(st fs.FileInfo) (fileID, bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(sys.Dev), ino: sys.Ino, size: st.Size(),
		mtime: sys.Mtim.Nano(), ctime: sys.Ctim.Nano()}, true
}

// get returns the cached file name if st still describes it.
func (c *fileCache) get(name string, st fs.FileInfo) *cached {
	id, ok := idOf(st)
	if !ok || st.Size() > maxCachedFile {
		return nil
	}
	c.mu.RLock()
	e := c.m[name]
	c.mu.RUnlock()
	if e == nil || e.id != id {
		return nil
	}
	return e
}

// newCached makes the entry of file name, described by st, holding data;
// ok is false when st cannot identify the file, which may then be served
// from the entry but not kept.
func newCached(name string, st fs.FileInfo, data []byte) (e *cached, ok bool) {
	id, ok := idOf(st)
	e = &cached{id: id, data: data, ctype: []string{contentType(name)},
		etag: []string{etag(st)}, length: []string{strconv.Itoa(len(data))}}
	if mt := st.ModTime(); !mt.IsZero() && !mt.Equal(time.Unix(0, 0)) {
		e.lastModified = []string{mt.UTC().Format(http.TimeFormat)}
	}
	return e, ok && int64(len(data)) == st.Size()
}

// put remembers e as the content of name. When full, the cache starts
// over: simpler than LRU, and a site rarely has more small files in active
// use than fit.
func (c *fileCache) put(name string, e *cached) {
	c.mu.Lock()
	if len(c.m) >= maxCachedFiles {
		clear(c.m)
	}
	c.m[name] = e
	c.mu.Unlock()
}

// etag is a strong validator from size and modification time, as nginx
// makes it; the compressed sibling has its own.
func etag(st fs.FileInfo) string {
	return fmt.Sprintf(`"%x-%x"`, st.ModTime().UnixNano(), st.Size())
}
