package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// maxSessions bounds the logins held at once; past it the one closest to
// expiry is dropped.
const maxSessions = 1024

// session is one login. Its id is only in the browser's cookie; the store
// keys sessions by the id's SHA-256 so that a lookup's timing says nothing
// about valid ids. hash is the user's password hash at login: a session
// is good only while the config still gives the user that hash, so that a
// reload that removes a user or changes their password logs them out.
type session struct {
	id   string
	user string
	hash []byte
	used time.Time // last request; guarded by sessions.mu
}

// sessions are held in memory: a restart logs everybody out, which is the
// safe way round. They outlive config reloads.
type sessions struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[[sha256.Size]byte]*session
}

func newSessions(ttl time.Duration) *sessions {
	return &sessions{ttl: ttl, m: map[[sha256.Size]byte]*session{}}
}

// randomID is 256 random bits, URL-safe.
func randomID() string {
	return base64.RawURLEncoding.EncodeToString(randomKey())
}

func randomKey() []byte {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return b
}

// setTTL changes how long a session lasts without use, for the sessions
// already open too.
func (s *sessions) setTTL(ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ttl = ttl
}

// create starts a session for user, whose password hash is hash.
func (s *sessions) create(user string, hash []byte, now time.Time) *session {
	sess := &session{id: randomID(), user: user, hash: hash, used: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxSessions {
		prune(s.m, maxSessions, func(x *session) time.Time { return x.used.Add(s.ttl) }, now)
	}
	s.m[sha256.Sum256([]byte(sess.id))] = sess
	return sess
}

// get returns the live session with this id and extends it by the TTL
// (sliding expiry); nil when there is none or it has expired.
func (s *sessions) get(id string, now time.Time) *session {
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.m[k]
	if sess == nil {
		return nil
	}
	if !now.Before(sess.used.Add(s.ttl)) {
		delete(s.m, k)
		return nil
	}
	sess.used = now
	return sess
}

func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(id)))
}
