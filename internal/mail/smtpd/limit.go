package smtpd

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"bartleby/internal/connlimit"
)

// PreMailTimeout is how long a remote client has, from connecting, to
// send its first MAIL command (a local one: how long it may stay silent
// before it): a session that has not started a transaction holds a slot
// for nothing, and RFC 5321's 5-minute server timeout (4.5.3.2.7) is for
// a client waiting on its own work mid-transaction. After MAIL the RFC's
// timeouts apply.
const PreMailTimeout = 60 * time.Second

// Limit wraps ln: at most total connections at once and perIP from one
// address (an IPv6 /64 counting as one), the last quarter of total kept
// for addresses holding none, so that a few addresses cannot take every
// slot; an excess connection gets 421 and is closed. A client must stay
// silent for pause before the greeting: one that talks first is not a real
// MTA (RFC 5321 4.3.1) and is dropped. A zero pause skips that test. A
// remote client that has not sent MAIL PreMailTimeout after connecting is
// cut off.
// Clients for which local is true (the host's own programs) are spared
// the per-address limit, the reserve and the pause, as Postfix's
// postscreen and client limits spare mynetworks; they count toward total.
func Limit(ln net.Listener, total, perIP int, pause time.Duration, local func(netip.Addr) bool, log *slog.Logger) net.Listener {
	return limit(ln, total, perIP, pause, PreMailTimeout, local, log)
}

func limit(ln net.Listener, total, perIP int, pause, preMail time.Duration, local func(netip.Addr) bool, log *slog.Logger) net.Listener {
	l := &limitListener{Listener: ln, preMail: preMail, local: local, log: log,
		ready: make(chan net.Conn), done: make(chan struct{})}
	l.lim.Store(newLimits(total, perIP, pause))
	go l.acceptLoop()
	return l
}

// SetLimits changes the limits of a listener made by Limit, for the
// connections it takes from now on. Unless total or perIP change, the
// slots held now still count.
func SetLimits(ln net.Listener, total, perIP int, pause time.Duration) {
	l, ok := ln.(*limitListener)
	if !ok {
		return
	}
	next := newLimits(total, perIP, pause)
	if cur := l.lim.Load(); cur.total == total && cur.perIP == perIP {
		next.slots = cur.slots
	}
	l.lim.Store(next)
}

// limits are a listener's connection limits.
type limits struct {
	total, perIP int
	slots        *connlimit.Limiter
	pause        time.Duration
}

func newLimits(total, perIP int, pause time.Duration) *limits {
	return &limits{total: total, perIP: perIP, slots: connlimit.New(total, perIP), pause: pause}
}

type limitListener struct {
	net.Listener
	lim       atomic.Pointer[limits]
	preMail   time.Duration
	local     func(netip.Addr) bool
	log       *slog.Logger
	ready     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) { return AcceptFrom(l.ready, l.done) }

// AcceptFrom is Accept for a listener fed through a channel: the next
// connection from ready, or net.ErrClosed once done is closed. Never
// (nil, nil): go-smtp would serve a nil connection.
func AcceptFrom(ready <-chan net.Conn, done <-chan struct{}) (net.Conn, error) {
	select {
	case c := <-ready:
		return c, nil
	case <-done:
		return nil, net.ErrClosed
	}
}

func (l *limitListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

func (l *limitListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				l.log.Error("smtp listener stopped", "event", "mail.listener_failed", "err", err)
			}
			l.closeOnce.Do(func() { close(l.done) })
			return
		}
		go l.admit(c)
	}
}

// admit counts the connection, refuses it over the limits, and holds the
// greeting back to catch early talkers.
func (l *limitListener) admit(c net.Conn) {
	ip := connlimit.AddrOf(c.RemoteAddr())
	lim := l.lim.Load()
	local := l.local(ip)
	take := lim.slots.Take
	if local {
		take = lim.slots.TakeTrusted
	}
	if !take(ip) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("421 4.7.0 too many connections, try again later\r\n"))
		c.Close()
		l.log.Warn("smtp connection refused: too many", "event", "mail.connection_refused", "client", ip)
		return
	}
	lc := &slotConn{Conn: c, preMail: l.preMail, release: func() { lim.slots.Give(ip) }}
	if !local {
		lc.preMailBy = time.Now().Add(l.preMail)
	}
	if lim.pause > 0 && !local {
		c.SetReadDeadline(time.Now().Add(lim.pause))
		var b [1]byte
		if n, _ := c.Read(b[:]); n > 0 {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("554 5.5.1 protocol error: talking before the greeting\r\n"))
			lc.Close()
			l.log.Warn("smtp early talker dropped", "event", "mail.early_talker", "client", ip)
			return
		}
		c.SetReadDeadline(time.Time{})
	}
	select {
	case l.ready <- lc:
	case <-l.done:
		lc.Close()
	}
}

// slotConn holds a slot until closed, and caps every read deadline until
// the client has sent MAIL: for a remote client at preMailBy, preMail
// after it connected, so that a NOOP every 50 s cannot hold a slot for
// ever; for a local one (a person typing into sendmail -bs, say) at
// preMail from now.
type slotConn struct {
	net.Conn
	preMail   time.Duration
	preMailBy time.Time // zero for a local client
	mailSeen  atomic.Bool
	kicked    atomic.Bool
	once      sync.Once
	release   func()
}

func (c *slotConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// SetReadDeadline is how go-smtp sets its command timeout before each
// read; before MAIL it is shortened to preMail.
func (c *slotConn) SetReadDeadline(t time.Time) error {
	var limit time.Time
	switch {
	case c.kicked.Load():
		limit = time.Now()
	case c.mailSeen.Load():
	case !c.preMailBy.IsZero():
		limit = c.preMailBy
	default:
		limit = time.Now().Add(c.preMail)
	}
	if !limit.IsZero() && (t.IsZero() || t.After(limit)) {
		t = limit
	}
	return c.Conn.SetReadDeadline(t)
}

// mailStarted lifts the pre-MAIL timeout of a session's connection, as
// go-smtp hands it (inside TLS after STARTTLS); a connection that did not
// come through Limit is left alone.
func mailStarted(c net.Conn) {
	if sc := slotOf(c); sc != nil {
		sc.mailSeen.Store(true)
	}
}

// kick ends a session after the reply being sent: go-smtp sets a read
// deadline before reading the next command, and it is now. It reports
// false for a connection that did not come through Limit, or that is a
// local client's.
func kick(c net.Conn) bool {
	sc := slotOf(c)
	if sc == nil || sc.preMailBy.IsZero() {
		return false
	}
	sc.kicked.Store(true)
	return true
}

func slotOf(c net.Conn) *slotConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, _ := c.(*slotConn)
	return sc
}
