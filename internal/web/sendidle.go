package web

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"time"
)

// sendChunk is the most of a file handed to sendfile between two
// extensions of the write deadline: a client must take at least this much
// per writeIdleTimeout (1 KiB/s at the defaults).
const sendChunk = 64 << 10

// writeDeadline gives each write of a response d to complete (nginx's
// send_timeout): a client that stops reading (a slow-read attack, or an
// HTTP/2 client that grants no flow-control window) would otherwise hold
// the handler, and with it a connection to the upstream, for ever. A
// whole-response WriteTimeout would cut long downloads and event streams
// instead.
//
// On HTTP/1 the deadline is the connection's and matters only while a
// write waits, so it is moved forward before writes, at most once a second,
// and lifted before a WebSocket tunnel takes the connection over. On
// HTTP/2 a stream's deadline resets the stream when it passes, writing or
// not, so it is set around each write and lifted after it.
func writeDeadline(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		iw := &idleWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: d, perWrite: r.ProtoMajor >= 2}
		if !iw.perWrite {
			iw.arm(time.Now())
		}
		next.ServeHTTP(iw, r)
	})
}

type idleWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	d        time.Duration
	perWrite bool // HTTP/2: a deadline around each write
	armed    time.Time
}

// arm moves an HTTP/1 connection's deadline to d from now, unless it moved
// less than a second ago.
func (iw *idleWriter) arm(now time.Time) {
	if now.Sub(iw.armed) < time.Second {
		return
	}
	iw.armed = now
	iw.rc.SetWriteDeadline(now.Add(iw.d))
}

func (iw *idleWriter) WriteHeader(code int) {
	if !iw.perWrite {
		iw.arm(time.Now())
	}
	iw.ResponseWriter.WriteHeader(code)
}

func (iw *idleWriter) Write(b []byte) (int, error) {
	if !iw.perWrite {
		iw.arm(time.Now())
		return iw.ResponseWriter.Write(b)
	}
	iw.rc.SetWriteDeadline(time.Now().Add(iw.d))
	defer iw.rc.SetWriteDeadline(time.Time{})
	return iw.ResponseWriter.Write(b)
}

// ReadFrom sends a file on HTTP/1 with sendfile, sendChunk at a time, the
// deadline moved before each; anything else goes through Write.
func (iw *idleWriter) ReadFrom(src io.Reader) (int64, error) {
	f, remain := src, int64(-1)
	lr, limited := src.(*io.LimitedReader)
	if limited {
		f, remain = lr.R, lr.N
	}
	if iw.perWrite || !isFile(f) {
		return io.Copy(writerOnly{iw}, src)
	}
	var total int64
	for remain != 0 {
		chunk := int64(sendChunk)
		if remain > 0 {
			chunk = min(chunk, remain)
		}
		iw.armed = time.Time{} // each chunk gets a new deadline
		iw.arm(time.Now())
		n, err := io.Copy(iw.ResponseWriter, &io.LimitedReader{R: f, N: chunk})
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

// Hijack lifts the deadline: the tunnel that takes the connection over
// has its own rules (it may be quiet for long).
func (iw *idleWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	iw.rc.SetWriteDeadline(time.Time{})
	return iw.rc.Hijack()
}

// Unwrap lets http.ResponseController reach the connection (flush, read
// deadlines).
func (iw *idleWriter) Unwrap() http.ResponseWriter { return iw.ResponseWriter }
