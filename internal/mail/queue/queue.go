// Package queue is the durable mail spool.
//
// Each message is one file, <id>.msg, holding a format line, the envelope as
// one line of JSON and the message. It is written as <id>.tmp, fsynced,
// renamed, and the directory is fsynced before Add returns: only then may the
// caller acknowledge the message. Concurrent Adds share directory fsyncs
// (group commit). Later envelope changes (recipient states, attempts and the
// next attempt, hold) go to <id>.env, replaced atomically without fsync;
// losing one to a crash at worst repeats an attempt or a delivery, which the
// at-least-once promise allows.
package queue

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"bartleby/internal/mail/spoolfile"
)

const magic = "BARTLEBY-QUEUE 1\n"

// ErrTooBig is returned by Add for a message over the size limit.
var ErrTooBig = errors.New("message exceeds the maximum size")

// TempError is a failure of the spool itself (full disk, unwritable
// directory): the sender must try again later, never take it as accepted.
type TempError struct{ Err error }

func (e *TempError) Error() string { return "queue: " + e.Err.Error() }
func (e *TempError) Unwrap() error { return e.Err }

// Queue is the spool directory and the envelopes it holds.
type Queue struct {
	dir  string
	sync *dirSyncer

	mu   sync.Mutex
	msgs map[string]*entry
	// Added receives a value (without blocking) when a message is added.
	Added chan struct{}
}

type entry struct {
	write sync.Mutex // serialises writes of this message's .env
	env   Envelope   // guarded by Queue.mu
}

// Open opens (creating) the spool at dir and loads every message in it.
// Files that cannot be read are moved to dir/corrupt and reported.
func Open(dir string) (*Queue, []error, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("queue %s: %w", dir, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("queue %s: %w", dir, err)
	}
	q := &Queue{dir: dir, sync: newDirSyncer(d), msgs: map[string]*entry{}, Added: make(chan struct{}, 1)}
	warns, err := q.load()
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	return q, warns, nil
}

// Close stops the directory syncer.
func (q *Queue) Close() error { return q.sync.close() }

// Dir is the spool directory.
func (q *Queue) Dir() string { return q.dir }

func (q *Queue) load() ([]error, error) {
	names, err := filepath.Glob(filepath.Join(q.dir, "*"))
	if err != nil {
		return nil, err
	}
	var warns []error
	msgs := map[string]bool{}
	for _, p := range names {
		base := filepath.Base(p)
		switch {
		case strings.HasSuffix(base, ".tmp"):
			os.Remove(p) // never acknowledged
		case strings.HasSuffix(base, ".msg"):
			id := strings.TrimSuffix(base, ".msg")
			if err := q.loadOne(id); err != nil {
				warns = append(warns, err)
				q.quarantine(id)
				continue
			}
			msgs[id] = true
		}
	}
	for _, p := range names {
		base := filepath.Base(p)
		if id, ok := strings.CutSuffix(base, ".env"); ok && !msgs[id] {
			os.Remove(p) // its message was delivered and removed
		}
	}
	return warns, nil
}

func (q *Queue) loadOne(id string) error {
	f, err := os.Open(q.path(id, ".msg"))
	if err != nil {
		return fmt.Errorf("queue: %s: %w", id, err)
	}
	defer f.Close()
	env, off, err := readHeader(bufio.NewReader(f))
	if err != nil {
		return fmt.Errorf("queue: %s.msg: %w", id, err)
	}
	if st, err := f.Stat(); err == nil {
		env.Size = st.Size() - off
	}
	if b, err := os.ReadFile(q.path(id, ".env")); err == nil {
		var later Envelope
		if err := json.Unmarshal(b, &later); err == nil && later.ID == id {
			env = later
		}
	}
	if env.ID != id {
		return fmt.Errorf("queue: %s.msg: envelope names %q", id, env.ID)
	}
	q.msgs[id] = &entry{env: env}
	return nil
}

// quarantine moves a message bartleby cannot read out of the way, keeping
// it for a human rather than deleting it.
func (q *Queue) quarantine(id string) {
	dst := filepath.Join(q.dir, "corrupt")
	os.MkdirAll(dst, 0o700)
	os.Rename(q.path(id, ".msg"), filepath.Join(dst, id+".msg"))
	os.Rename(q.path(id, ".env"), filepath.Join(dst, id+".env"))
}

func readHeader(r *bufio.Reader) (Envelope, int64, error) {
	var env Envelope
	n, err := spoolfile.ReadHeader(r, magic, &env)
	return env, n, err
}

func (q *Queue) path(id, ext string) string { return filepath.Join(q.dir, id+ext) }

// NewID makes a queue ID: time-ordered, unique, safe as a file name.
func NewID() string {
	var b [3]byte
	rand.Read(b[:])
	return fmt.Sprintf("%012X%s", time.Now().UnixMicro(), strings.ToUpper(hex.EncodeToString(b[:])))
}

// ValidID reports whether id can be a queue ID; it guards paths built
// from IDs given on the command line or in a form.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// Add spools a message and returns once it is durable. env.ID, Size and
// Received are filled in. data is read up to maxSize bytes; more is
// ErrTooBig. Any failure of the spool is a *TempError.
func (q *Queue) Add(env Envelope, data io.Reader, maxSize int64) (Envelope, error) {
	env, err := q.Stage(env, data, maxSize)
	if err == nil {
		q.Commit(env)
	}
	return env, err
}

// Stage writes a message durably as Add does but keeps it out of the
// queue's view (not listed, never due) until Commit, or Discard; so a
// caller may still replace it before it can be attempted. A crash in
// between leaves it queued, as Add would have: Open loads every message.
func (q *Queue) Stage(env Envelope, data io.Reader, maxSize int64) (Envelope, error) {
	env.ID = NewID()
	if env.Received.IsZero() {
		env.Received = time.Now().UTC()
	}
	for _, r := range env.Rcpts {
		if r.State == "" {
			r.State = Pending
		}
	}
	size, err := q.write(&env, data, maxSize)
	if err != nil {
		return env, err
	}
	env.Size = size
	return env, nil
}

// Commit makes a staged message part of the queue.
func (q *Queue) Commit(env Envelope) {
	q.mu.Lock()
	q.msgs[env.ID] = &entry{env: env.Clone()}
	q.mu.Unlock()
	select {
	case q.Added <- struct{}{}:
	default:
	}
}

// Discard deletes a staged message.
func (q *Queue) Discard(id string) error { return q.removeFiles(id) }

func (q *Queue) write(env *Envelope, data io.Reader, maxSize int64) (int64, error) {
	tmp := q.path(env.ID, ".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, &TempError{err}
	}
	size, err := writeMsg(f, env, data, maxSize)
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return 0, err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return 0, &TempError{err}
	}
	if err := os.Rename(tmp, q.path(env.ID, ".msg")); err != nil {
		os.Remove(tmp)
		return 0, &TempError{err}
	}
	if err := q.sync.Sync(); err != nil {
		os.Remove(q.path(env.ID, ".msg"))
		return 0, &TempError{fmt.Errorf("fsync %s: %w", q.dir, err)}
	}
	return size, nil
}

// writeMsg writes the header and the data and fsyncs the file. The size is
// known only at the end, so the header does not record it: Open measures it.
func writeMsg(f *os.File, env *Envelope, data io.Reader, maxSize int64) (int64, error) {
	w := bufio.NewWriterSize(f, 64<<10)
	if _, err := spoolfile.WriteHeader(w, magic, env); err != nil {
		return 0, err
	}
	n, err := io.Copy(w, io.LimitReader(data, maxSize+1))
	if err != nil {
		return 0, readErr(err)
	}
	if n > maxSize {
		return 0, ErrTooBig
	}
	if err := w.Flush(); err != nil {
		return 0, &TempError{err}
	}
	if err := f.Sync(); err != nil {
		return 0, &TempError{fmt.Errorf("fsync: %w", err)}
	}
	return n, nil
}

// readErr keeps the reader's own errors (a client gone, a bad line) apart
// from spool errors, which are temporary.
func readErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return &TempError{err}
	}
	return err
}

// Data opens a message's content. The caller closes it.
func (q *Queue) Data(id string) (io.ReadCloser, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("queue: no message %q", id)
	}
	f, err := os.Open(q.path(id, ".msg"))
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	if _, _, err := readHeader(br); err != nil {
		f.Close()
		return nil, fmt.Errorf("queue: %s: %w", id, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{br, f}, nil
}

// Get returns a copy of a message's envelope.
func (q *Queue) Get(id string) (Envelope, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.msgs[id]
	if !ok {
		return Envelope{}, false
	}
	return e.env.Clone(), true
}

// List returns copies of every envelope, oldest first.
func (q *Queue) List() []Envelope {
	q.mu.Lock()
	out := make([]Envelope, 0, len(q.msgs))
	for _, e := range q.msgs {
		out = append(out, e.env.Clone())
	}
	q.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Due lists the messages to attempt at now (open, not held, next attempt
// passed), oldest first, with their routes, and says when the next one
// falls due (zero when none waits). It copies nothing else, so the
// scheduler can call it on every new message.
func (q *Queue) Due(now time.Time) (ids, routes []string, next time.Time) {
	type due struct{ id, route string }
	var list []due
	q.mu.Lock()
	for id, e := range q.msgs {
		switch {
		case e.env.Held || !e.env.Open():
		case e.env.NextAttempt.After(now):
			if next.IsZero() || e.env.NextAttempt.Before(next) {
				next = e.env.NextAttempt
			}
		default:
			list = append(list, due{id, e.env.Route})
		}
	}
	q.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	for _, d := range list {
		ids, routes = append(ids, d.id), append(routes, d.route)
	}
	return ids, routes, next
}

// Len is the number of messages.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

// ErrNotFound is returned for an ID not in the queue.
var ErrNotFound = errors.New("no such message in the queue")

// Update applies fn to a message's envelope and records the result. A
// message whose recipients are all done is removed from the spool.
func (q *Queue) Update(id string, fn func(e *Envelope)) (Envelope, error) {
	q.mu.Lock()
	e, ok := q.msgs[id]
	q.mu.Unlock()
	if !ok {
		return Envelope{}, ErrNotFound
	}
	e.write.Lock()
	defer e.write.Unlock()
	q.mu.Lock()
	if q.msgs[id] != e { // removed meanwhile
		q.mu.Unlock()
		return Envelope{}, ErrNotFound
	}
	before := e.env.durable()
	fn(&e.env)
	env := e.env.Clone()
	done := !env.Open()
	if done {
		delete(q.msgs, id)
	}
	q.mu.Unlock()
	switch {
	case done:
		return env, q.removeFiles(id)
	case env.durable() == before:
		return env, nil // nothing a restart needs changed
	}
	return env, q.writeEnv(&env)
}

// writeEnv replaces <id>.env without fsync: after a crash the previous
// state (or the one in <id>.msg, if the new file is torn and unreadable) is
// used, which at worst repeats an attempt or a delivery.
func (q *Queue) writeEnv(env *Envelope) error {
	js, err := env.marshal()
	if err != nil {
		return err
	}
	tmp := q.path(env.ID, ".env.tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return &TempError{err}
	}
	_, err = f.Write(js)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, q.path(env.ID, ".env"))
	}
	if err != nil {
		os.Remove(tmp)
		return &TempError{err}
	}
	return nil
}

// Remove deletes a message (delivered, bounced, or deleted by an operator).
func (q *Queue) Remove(id string) error {
	q.mu.Lock()
	e, ok := q.msgs[id]
	if ok {
		delete(q.msgs, id)
	}
	q.mu.Unlock()
	if !ok {
		return ErrNotFound
	}
	e.write.Lock()
	defer e.write.Unlock()
	return q.removeFiles(id)
}

// removeFiles deletes the message first: an .env left alone is cleaned up
// at the next Open, a .msg left alone would be delivered again.
func (q *Queue) removeFiles(id string) error {
	if err := os.Remove(q.path(id, ".msg")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("queue: %w", err)
	}
	os.Remove(q.path(id, ".env"))
	return nil
}
