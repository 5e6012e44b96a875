package guard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/crypto/bcrypt"
)

// Bounds of basic auth: failed attempts per address before 429, and how
// many verified credentials are remembered so that bcrypt runs once per
// login rather than once per request.
const (
	failuresPerMinute = 10
	maxVerified       = 1024
	verifiedFor       = 10 * time.Minute
)

// BasicAuth checks users against bcrypt hashes.
type BasicAuth struct {
	realm    string
	users    map[string][]byte
	dummy    []byte // compared for unknown users, so they take as long
	failures *RateLimiter
	verified *lru.Cache[[sha256.Size]byte, time.Time]
	key      []byte // HMAC key of the verified cache
}

// NewBasicAuth takes user → bcrypt hash.
func NewBasicAuth(realm string, users map[string]string) *BasicAuth {
	a := &BasicAuth{realm: realm, users: map[string][]byte{},
		failures: NewRateLimiter(failuresPerMinute, time.Minute, failuresPerMinute), key: make([]byte, 32)}
	rand.Read(a.key)
	for u, h := range users {
		a.users[u] = []byte(h)
		if a.dummy == nil {
			a.dummy = []byte(h) // same cost as the real ones
		}
	}
	a.verified, _ = lru.New[[sha256.Size]byte, time.Time](maxVerified)
	return a
}

// check answers 401 (or 429 after too many attempts) and returns false
// unless the request carries a known user's password. bcrypt runs at most
// failuresPerMinute times a minute per address: a login remembered from
// the last verifiedFor costs none.
func (a *BasicAuth) check(w http.ResponseWriter, r *http.Request, ip netip.Addr) bool {
	user, pass, ok := r.BasicAuth()
	if ok {
		now := time.Now()
		id := a.id(user, pass)
		if until, seen := a.verified.Get(id); seen && now.Before(until) {
			return true
		}
		if wait, allowed := a.failures.Allow(ip, now); !allowed {
			tooMany(w, wait)
			return false
		}
		if a.verify(user, pass) {
			a.verified.Add(id, now.Add(verifiedFor))
			return true
		}
	}
	w.Header().Set("WWW-Authenticate", `Basic realm=`+strconv.Quote(a.realm)+`, charset="UTF-8"`)
	http.Error(w, "401 unauthorized", http.StatusUnauthorized)
	return false
}

// id names a user and password in the verified cache without keeping the
// password.
func (a *BasicAuth) id(user, pass string) [sha256.Size]byte {
	mac := hmac.New(sha256.New, a.key)
	mac.Write([]byte(user + "\x00" + pass))
	var id [sha256.Size]byte
	copy(id[:], mac.Sum(nil))
	return id
}

// verify compares with bcrypt, which is constant-time; an unknown user is
// compared against a real hash too, so that it takes as long.
func (a *BasicAuth) verify(user, pass string) bool {
	hash, known := a.users[user]
	if !known {
		hash = a.dummy
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(pass)) == nil && known
}
