package smtpd

import (
	"log/slog"
	"net"
	"sync"
	"time"
)

// Limit wraps ln: at most total connections at once and perIP from one
// address; an excess connection gets 421 and is closed. A client must stay
// silent for pause before the greeting: one that talks first is not a real
// MTA (RFC 5321 4.3.1) and is dropped. A zero pause skips that test.
func Limit(ln net.Listener, total, perIP int, pause time.Duration, log *slog.Logger) net.Listener {
	l := &limitListener{Listener: ln, total: total, perIP: perIP, pause: pause, log: log,
		byIP: map[string]int{}, ready: make(chan net.Conn), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

type limitListener struct {
	net.Listener
	total, perIP int
	pause        time.Duration
	log          *slog.Logger
	ready        chan net.Conn
	done         chan struct{}
	closeOnce    sync.Once
	err          error

	mu   sync.Mutex
	n    int
	byIP map[string]int
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		return nil, l.err
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
			l.err = err
			l.closeOnce.Do(func() { close(l.done) })
			return
		}
		go l.admit(c)
	}
}

// admit counts the connection, refuses it over the limits, and holds the
// greeting back to catch early talkers.
func (l *limitListener) admit(c net.Conn) {
	ip := hostOf(c.RemoteAddr())
	if !l.take(ip) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("421 4.7.0 too many connections, try again later\r\n"))
		c.Close()
		l.log.Warn("smtp connection refused: too many", "event", "mail.connection_refused", "client", ip)
		return
	}
	lc := &countedConn{Conn: c, release: func() { l.give(ip) }}
	if l.pause > 0 {
		c.SetReadDeadline(time.Now().Add(l.pause))
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

func (l *limitListener) take(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n >= l.total || l.byIP[ip] >= l.perIP {
		return false
	}
	l.n++
	l.byIP[ip]++
	return true
}

func (l *limitListener) give(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n--
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
}

func hostOf(a net.Addr) string {
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
