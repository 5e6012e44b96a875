package web

import (
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// sendChunk is the most of a file handed to sendfile between two moves of
// the write deadline: a client must take at least this much per
// writeIdleTimeout (1 KiB/s at the defaults).
const sendChunk = 64 << 10

// sendIdle gives every write to a client d to complete (nginx's
// send_timeout): a client that stops reading (a slow-read attack) would
// otherwise hold the handler, and with it a connection to the upstream,
// for ever. A whole-response WriteTimeout would cut long downloads and
// event streams instead. It works on the connection, below TLS, so that
// HTTP/1 requests pay nothing for it; an HTTP/2 stream whose client grants
// no flow-control window writes nothing to the connection, and gets its
// own deadline from streamWriteDeadline.
func sendIdle(ln net.Listener, d time.Duration) net.Listener {
	return &sendIdleListener{Listener: ln, d: d}
}

type sendIdleListener struct {
	net.Listener
	d time.Duration
}

func (l *sendIdleListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sendIdleConn{Conn: c, d: l.d}, nil
}

// sendIdleConn moves its write deadline to d from now before each write,
// unless it did so less than d/64 ago: on a busy keep-alive connection a
// timer update per write would cost more than the deadline is worth. The
// deadline only matters while a write waits, so a connection quiet for
// longer than d (a WebSocket tunnel, a long poll) is not cut.
type sendIdleConn struct {
	net.Conn
	d     time.Duration
	armed atomic.Int64 // when the deadline was last moved (UnixNano); 0: move it at the next write
}

func (c *sendIdleConn) arm() {
	now := time.Now()
	if now.UnixNano()-c.armed.Load() < int64(c.d/64) {
		return
	}
	c.armed.Store(now.UnixNano())
	c.Conn.SetWriteDeadline(now.Add(c.d))
}

func (c *sendIdleConn) Write(b []byte) (int, error) {
	c.arm()
	return c.Conn.Write(b)
}

// SetDeadline and SetWriteDeadline (net/http clears the deadlines of a
// connection it hands to a WebSocket tunnel) hold until the next write,
// which moves the deadline again.
func (c *sendIdleConn) SetDeadline(t time.Time) error {
	c.armed.Store(0)
	return c.Conn.SetDeadline(t)
}

func (c *sendIdleConn) SetWriteDeadline(t time.Time) error {
	c.armed.Store(0)
	return c.Conn.SetWriteDeadline(t)
}

// ReadFrom keeps sendfile for the files net/http hands to the connection,
// sendChunk at a time with the deadline moved before each; anything else
// goes through Write.
func (c *sendIdleConn) ReadFrom(src io.Reader) (int64, error) {
	rf, ok := c.Conn.(io.ReaderFrom)
	if !ok || !isFile(src) {
		return io.Copy(writerOnly{c}, src)
	}
	f, remain := src, int64(-1)
	lr, limited := src.(*io.LimitedReader)
	if limited {
		f, remain = lr.R, lr.N
	}
	var total int64
	for remain != 0 {
		chunk := int64(sendChunk)
		if remain > 0 {
			chunk = min(chunk, remain)
		}
		c.armed.Store(0)
		c.arm()
		n, err := rf.ReadFrom(&io.LimitedReader{R: f, N: chunk})
		total += n
		if remain > 0 {
			remain -= n
		}
		if limited {
			lr.N = remain
		}
		if err != nil || n < chunk {
			return total, err
		}
	}
	return total, nil
}

// CloseWrite lets net/http half-close a connection it ends, so that the
// client reads the last answer before the close.
func (c *sendIdleConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

// streamWriteDeadline gives each write of an HTTP/2 response d to
// complete: a stream whose client grants no more flow-control window
// blocks its handler while the connection stays busy with other streams.
// A stream's deadline resets the stream when it passes, writing or not,
// so it is set around each write and lifted after it. HTTP/1 requests
// pass straight through: their connection has sendIdle.
func streamWriteDeadline(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor < 2 {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&streamWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: d}, r)
	})
}

type streamWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (sw *streamWriter) Write(b []byte) (int, error) {
	sw.rc.SetWriteDeadline(time.Now().Add(sw.d))
	defer sw.rc.SetWriteDeadline(time.Time{})
	return sw.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the stream (flush, read
// deadlines).
func (sw *streamWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }
