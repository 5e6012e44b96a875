package web

import (
	"io/fs"
	"sync"
	"syscall"
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
	m  map[string]cacheEntry
}

type cacheEntry struct {
	id   fileID
	data []byte
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

// get returns the cached content of name if st still describes it.
func (c *fileCache) get(name string, st fs.FileInfo) ([]byte, bool) {
	id, ok := idOf(st)
	if !ok || st.Size() > maxCachedFile {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.m[name]
	c.mu.RUnlock()
	if !ok || e.id != id {
		return nil, false
	}
	return e.data, true
}

// put remembers data as the content of name described by st. When full,
// the cache starts over: simpler than LRU, and a site rarely has more small
// files in active use than fit.
func (c *fileCache) put(name string, st fs.FileInfo, data []byte) {
	id, ok := idOf(st)
	if !ok || int64(len(data)) != st.Size() {
		return
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedFiles {
		clear(c.m)
	}
	c.m[name] = cacheEntry{id: id, data: data}
	c.mu.Unlock()
}
