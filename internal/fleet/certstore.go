package fleet

import (
	"context"
	"encoding/binary"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// LockTTL is the lease of a certmagic lock: a node that crashes holding one
// (mid-order) frees it this long after, and another node takes the work.
var LockTTL = 15 * time.Second

// Limits on what certmagic may keep in etcd: its values are certificates,
// keys and small JSON documents.
const (
	maxValueSize = 512 << 10
	maxKeyLen    = 1024
	maxListed    = 100000
)

// CertStorage is a certmagic.Storage in etcd under PREFIX/certmagic/.
// Private keys (certmagic keys ending in ".key") are sealed with the fleet
// key; locks are etcd mutexes on leases, so a crashed holder's lock
// expires after LockTTL.
type CertStorage struct {
	f    *Fleet
	base string

	mu    sync.Mutex
	locks map[string]*heldLock
}

type heldLock struct {
	sess *concurrency.Session
	mu   *concurrency.Mutex
}

var _ certmagic.Storage = (*CertStorage)(nil)

// CertStorage returns the fleet's certificate storage.
func (f *Fleet) CertStorage() *CertStorage {
	return &CertStorage{f: f, base: f.Prefix("certmagic"), locks: map[string]*heldLock{}}
}

// Stored values are a header (a flags byte, the modification time in Unix
// nanoseconds) and the data, sealed when flagSealed is set.
const (
	headerLen  = 9
	flagSealed = 1
)

func (s *CertStorage) etcdKey(key string) (string, error) {
	key = strings.Trim(key, "/")
	if key == "" || len(key) > maxKeyLen || strings.Contains(key, "//") || strings.Contains(key, "\x00") {
		return "", fmt.Errorf("certificate storage: bad key %q", key)
	}
	for _, part := range strings.Split(key, "/") {
		if part == "." || part == ".." {
			return "", fmt.Errorf("certificate storage: bad key %q", key)
		}
	}
	return s.base + key, nil
}

func secret(key string) bool { return strings.HasSuffix(key, ".key") }

// Store puts value at key, sealing private keys.
func (s *CertStorage) Store(ctx context.Context, key string, value []byte) error {
	ek, err := s.etcdKey(key)
	if err != nil {
		return err
	}
	if len(value) > maxValueSize {
		return fmt.Errorf("certificate storage: %s: %d bytes is more than %d", key, len(value), maxValueSize)
	}
	out := make([]byte, headerLen, headerLen+len(value)+64)
	binary.BigEndian.PutUint64(out[1:], uint64(time.Now().UnixNano()))
	if secret(key) {
		out[0] = flagSealed
		out = append(out, s.f.s.Key.Seal(ek, value)...)
	} else {
		out = append(out, value...)
	}
	rctx, cancel := s.f.Timeout(ctx)
	defer cancel()
	if _, err := s.f.cli.Put(rctx, ek, string(out)); err != nil {
		return fmt.Errorf("certificate storage: store %s: %w", key, noQuorum(err))
	}
	return nil
}

// Load returns the value at key; fs.ErrNotExist when there is none.
func (s *CertStorage) Load(ctx context.Context, key string) ([]byte, error) {
	ek, err := s.etcdKey(key)
	if err != nil {
		return nil, err
	}
	kv, err := s.get(ctx, ek)
	if err != nil {
		return nil, err
	}
	if kv == nil {
		return nil, fmt.Errorf("certificate storage: %s: %w", key, fs.ErrNotExist)
	}
	if len(kv) < headerLen {
		return nil, fmt.Errorf("certificate storage: %s: truncated value", key)
	}
	if kv[0]&flagSealed != 0 {
		return s.f.s.Key.Open(ek, kv[headerLen:])
	}
	if secret(key) {
		return nil, fmt.Errorf("certificate storage: %s: private key stored in clear; refusing it", key)
	}
	return kv[headerLen:], nil
}

func (s *CertStorage) get(ctx context.Context, ek string) ([]byte, error) {
	rctx, cancel := s.f.Timeout(ctx)
	defer cancel()
	resp, err := s.f.cli.Get(rctx, ek)
	if err != nil {
		return nil, fmt.Errorf("certificate storage: load %s: %w", strings.TrimPrefix(ek, s.base), noQuorum(err))
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	return resp.Kvs[0].Value, nil
}

// Delete removes key and everything under it as a directory.
func (s *CertStorage) Delete(ctx context.Context, key string) error {
	ek, err := s.etcdKey(key)
	if err != nil {
		return err
	}
	rctx, cancel := s.f.Timeout(ctx)
	defer cancel()
	_, err = s.f.cli.Txn(rctx).Then(
		clientv3.OpDelete(ek),
		clientv3.OpDelete(ek+"/", clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return fmt.Errorf("certificate storage: delete %s: %w", key, noQuorum(err))
	}
	return nil
}

// Exists says whether key is a value or a directory of values.
func (s *CertStorage) Exists(ctx context.Context, key string) bool {
	_, err := s.Stat(ctx, key)
	return err == nil
}

// Stat describes key: a value (terminal) or a directory of values.
func (s *CertStorage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	ek, err := s.etcdKey(key)
	if err != nil {
		return certmagic.KeyInfo{}, err
	}
	rctx, cancel := s.f.Timeout(ctx)
	defer cancel()
	resp, err := s.f.cli.Txn(rctx).Then(
		clientv3.OpGet(ek),
		clientv3.OpGet(ek+"/", clientv3.WithPrefix(), clientv3.WithCountOnly()),
	).Commit()
	if err != nil {
		return certmagic.KeyInfo{}, fmt.Errorf("certificate storage: stat %s: %w", key, noQuorum(err))
	}
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) == 1 && len(kvs[0].Value) >= headerLen {
		v := kvs[0].Value
		size := int64(len(v) - headerLen)
		if v[0]&flagSealed != 0 {
			size -= int64(s.f.s.Key.overhead())
		}
		return certmagic.KeyInfo{Key: key, IsTerminal: true, Size: size,
			Modified: time.Unix(0, int64(binary.BigEndian.Uint64(v[1:headerLen])))}, nil
	}
	if resp.Responses[1].GetResponseRange().Count > 0 {
		return certmagic.KeyInfo{Key: key}, nil
	}
	return certmagic.KeyInfo{}, fmt.Errorf("certificate storage: %s: %w", key, fs.ErrNotExist)
}

// List returns the keys under dir: its direct children (values and
// directories), or with recursive every value and directory below it, as
// certmagic's FileStorage does. fs.ErrNotExist when there is none.
func (s *CertStorage) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	dir = strings.Trim(dir, "/")
	prefix := s.base
	if dir != "" {
		ek, err := s.etcdKey(dir)
		if err != nil {
			return nil, err
		}
		prefix = ek + "/"
	}
	rctx, cancel := s.f.Timeout(ctx)
	defer cancel()
	resp, err := s.f.cli.Get(rctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly(), clientv3.WithLimit(maxListed))
	if err != nil {
		return nil, fmt.Errorf("certificate storage: list %s: %w", dir, noQuorum(err))
	}
	if resp.More {
		return nil, fmt.Errorf("certificate storage: list %s: more than %d keys", dir, maxListed)
	}
	seen := map[string]bool{}
	var out []string
	for _, kv := range resp.Kvs {
		parts := strings.Split(strings.TrimPrefix(string(kv.Key), prefix), "/")
		depth := 1
		if recursive {
			depth = len(parts)
		}
		for i := 1; i <= depth; i++ {
			k := path.Join(dir, path.Join(parts[:i]...))
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("certificate storage: list %s: %w", dir, fs.ErrNotExist)
	}
	return out, nil
}

// Lock takes the fleet-wide lock name, waiting while another node (or
// another goroutine here) holds it. Each lock has its own lease, kept
// alive while held.
func (s *CertStorage) Lock(ctx context.Context, name string) error {
	ek, err := s.etcdKey(name)
	if err != nil {
		return err
	}
	sess, err := concurrency.NewSession(s.f.cli, concurrency.WithTTL(int(LockTTL/time.Second)), concurrency.WithContext(s.f.ctx))
	if err != nil {
		return fmt.Errorf("certificate storage: lock %s: %w", name, noQuorum(err))
	}
	mu := concurrency.NewMutex(sess, s.f.Prefix("locks")+strings.TrimPrefix(ek, s.base))
	if err := mu.Lock(clientv3.WithRequireLeader(ctx)); err != nil {
		sess.Close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("certificate storage: lock %s: %w", name, noQuorum(err))
	}
	s.mu.Lock()
	s.locks[name] = &heldLock{sess: sess, mu: mu}
	s.mu.Unlock()
	return nil
}

// Unlock releases a lock taken by Lock.
func (s *CertStorage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	l, ok := s.locks[name]
	delete(s.locks, name) // before the release: the next holder may be here
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("certificate storage: unlock %s: not locked here", name)
	}
	// Revoking the lease deletes the lock key: this releases it even if
	// ctx is already done.
	if err := l.sess.Close(); err != nil {
		return fmt.Errorf("certificate storage: unlock %s: %w", name, noQuorum(err))
	}
	return nil
}

func (s *CertStorage) String() string { return "etcd:" + s.base }
