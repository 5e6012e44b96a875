package smtpd

import (
	"net"
	"net/netip"
	"sync"

	"bartleby/internal/connlimit"
)

// Split shares one listener between two servers by client address, the
// way Postfix's mynetworks splits port 25: connections from addresses for
// which local is true go to the first listener (submission, which may
// relay and accepts long lines), the rest to the second (the backup MX).
// Two servers rather than one with a handler per client, because go-smtp
// bounds line length per server: raising it for local clients must not
// let a remote one send a 25 MB command line. Closing either closes ln.
func Split(ln net.Listener, local func(netip.Addr) bool) (net.Listener, net.Listener) {
	s := &split{ln: ln, done: make(chan struct{})}
	loc, rest := &half{s, make(chan net.Conn)}, &half{s, make(chan net.Conn)}
	go s.dispatch(local, loc, rest)
	return loc, rest
}

type split struct {
	ln        net.Listener
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

func (s *split) dispatch(local func(netip.Addr) bool, loc, rest *half) {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			s.close() // ln logs and reports its own failure
			return
		}
		to := rest
		if local(connlimit.AddrOf(c.RemoteAddr())) {
			to = loc
		}
		select {
		case to.ready <- c:
		case <-s.done:
			c.Close()
			return
		}
	}
}

func (s *split) close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.closeErr = s.ln.Close()
	})
	return s.closeErr
}

// half is one server's side of a Split.
type half struct {
	*split
	ready chan net.Conn
}

func (h *half) Accept() (net.Conn, error) { return AcceptFrom(h.ready, h.done) }

func (h *half) Close() error   { return h.close() }
func (h *half) Addr() net.Addr { return h.ln.Addr() }
