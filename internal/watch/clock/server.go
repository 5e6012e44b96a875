package clock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"bartleby/internal/accept"
)

// Upstream is what the responder knows of its own time source.
type Upstream struct {
	Synced  bool          // the kernel says the clock is disciplined
	Stratum int           // the source's stratum; the responder adds one
	RefID   uint32        // the source's IPv4 address, or 0
	MaxErr  time.Duration // the kernel's maximum error, sent as root dispersion
}

// ServerOptions configure the responder.
type ServerOptions struct {
	Rate    float64 // queries per second per client
	Burst   int
	Clients int // buckets kept at once: the memory cap
	Leak    int // answer 1 in Leak queries over the rate
	// Upstream is asked for every answer.
	Upstream func() Upstream
	Log      *slog.Logger
	// Died is told when a socket fails for good (nil: only logged).
	Died func(error)
}

// Server answers NTP client queries with the host clock.
type Server struct {
	opt     ServerOptions
	limiter *limiter
	conns   []*net.UDPConn
	wg      sync.WaitGroup
	closed  atomic.Bool

	// Counters, for metrics and tests.
	Answered, Refused, KoD, Ignored atomic.Uint64
}

// NewServer makes a responder; Listen starts it.
func NewServer(o ServerOptions) *Server {
	return &Server{opt: o, limiter: newLimiter(o.Rate, o.Burst, o.Clients, o.Leak)}
}

// Listen binds addr and serves it in the background.
func (s *Server) Listen(addr string) (net.Addr, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, err
	}
	// Ask the kernel to stamp each datagram on arrival: the receive
	// timestamp must not include our own scheduling delay.
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) })
	}
	s.conns = append(s.conns, c)
	s.wg.Go(func() { s.serve(c) })
	return c.LocalAddr(), nil
}

// Close stops every listener and waits for the loops.
func (s *Server) Close() error {
	s.closed.Store(true)
	for _, c := range s.conns {
		c.Close()
	}
	s.wg.Wait()
	return nil
}

func (s *Server) serve(c *net.UDPConn) {
	buf := make([]byte, 1024)
	oob := make([]byte, 128)
	out := make([]byte, 0, PacketSize)
	var wait accept.Backoff
	for {
		n, oobn, _, from, err := c.ReadMsgUDPAddrPort(buf, oob)
		recv := time.Now()
		if err != nil {
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			if !s.retry(c, err, &wait) {
				return
			}
			continue
		}
		wait.Reset()
		if t, ok := socketTime(oob[:oobn]); ok {
			recv = t
		}
		reply, ok := s.answer(buf[:n], from.Addr(), recv, out[:0])
		if !ok {
			continue
		}
		// The transmit timestamp is the last thing written, just before
		// the send, so it excludes our processing time.
		Transmit(reply, time.Now())
		if _, err := c.WriteToUDPAddrPort(reply, from); err != nil {
			s.opt.Log.Debug("ntp write", "event", "ntp.write_error", "client", from, "err", err)
		}
	}
}

// retry waits out a transient read error (a memory shortage) with backoff
// and reports whether to go on; any other error ends the socket, loudly.
func (s *Server) retry(c *net.UDPConn, err error, wait *accept.Backoff) bool {
	if !accept.Transient(err) {
		err = fmt.Errorf("ntp socket %s stopped: %w", c.LocalAddr(), err)
		if s.opt.Died != nil {
			s.opt.Died(err)
		} else {
			s.opt.Log.Error("ntp", "error", err)
		}
		return false
	}
	d := wait.Next()
	s.opt.Log.Warn("ntp read failed, retrying", "error", err, "retry_in", d)
	time.Sleep(d)
	return true
}

// socketTime finds the SO_TIMESTAMPNS control message.
func socketTime(oob []byte) (time.Time, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:]))
			return time.Unix(sec, nsec), true
		}
	}
	return time.Time{}, false
}

// Transmit sets the transmit timestamp of an encoded reply.
func Transmit(reply []byte, t time.Time) {
	ts := Timestamp(t)
	for i := range 8 {
		reply[47-i] = byte(ts >> (8 * i))
	}
}

// answer builds the reply to one datagram, or says to stay silent. The reply
// is never larger than the query: no amplification.
func (s *Server) answer(q []byte, from netip.Addr, recv time.Time, out []byte) ([]byte, bool) {
	req, err := ParsePacket(q)
	if err != nil || req.Mode != ModeClient {
		// Control (6) and private (7) queries, server packets, broadcasts
		// and garbage are not answered at all.
		s.Ignored.Add(1)
		return nil, false
	}
	resp := Packet{Version: req.Version, Mode: ModeServer, Poll: req.Poll, Precision: -20, Origin: req.Transmit}
	switch s.limiter.allow(from.Unmap(), recv) {
	case verdictDrop:
		s.Refused.Add(1)
		return nil, false
	case verdictKoD:
		s.KoD.Add(1)
		resp.Leap, resp.Stratum, resp.RefID = LeapUnsync, 0, Kiss("RATE")
		resp.Receive = Timestamp(recv)
		resp.Poll = max(req.Poll, 10)
		return resp.Append(out), true
	}
	up := s.opt.Upstream()
	if !up.Synced {
		// As chrony does: alarm, stratum 16, refid 0 (its
		// NTP_REFID_UNSYNC) and no reference time, so clients discard
		// us rather than follow a free-running clock.
		resp.Leap, resp.Stratum, resp.RefID = LeapUnsync, 16, 0
	} else {
		resp.Stratum, resp.RefID = uint8(min(up.Stratum+1, 15)), up.RefID
		resp.RootDisp = Short(up.MaxErr)
		resp.RefTime = Timestamp(recv.Truncate(time.Second))
	}
	resp.Receive = Timestamp(recv)
	s.Answered.Add(1)
	return resp.Append(out), true
}

// KernelSynced asks the kernel whether the clock is disciplined by an NTP
// daemon (adjtimex: not STA_UNSYNC and not TIME_ERROR) and its maximum error.
func KernelSynced() (bool, time.Duration) {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil || state == unix.TIME_ERROR || tx.Status&unix.STA_UNSYNC != 0 {
		return false, 0
	}
	return true, time.Duration(tx.Maxerror) * time.Microsecond
}
