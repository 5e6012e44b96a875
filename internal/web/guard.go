package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// guardFraming runs before any site is looked up and protects the framing of the
// connection a request came on.
//
// Go's server reads a request carrying both Transfer-Encoding: chunked and
// Content-Length as chunked and drops the Content-Length before a handler
// sees it, so the conflict cannot be told from a plain chunked request
// here. A front proxy that framed the same bytes by Content-Length would
// send the rest of its body as a second request on this connection (request
// smuggling). RFC 9112 §6.1 says to close the connection after such a
// request: every HTTP/1.1 request that arrived chunked gets
// "Connection: close" and its connection ends after the response, so no
// byte after its body is ever read as a request. Browsers never send
// chunked request bodies, so this costs a reconnect only to streaming
// uploads. HTTP/1.0 has no chunked coding and Go ignores a
// Transfer-Encoding on it (RFC 9112 §6.1 again: close after it), so an
// HTTP/1.0 connection is not kept alive either.
//
// CONNECT is refused: this is no forward proxy, and a tunnel would carry
// anything past the routes. So are TRACE and IIS's TRACK: an upstream
// that echoes the request would hand a script the Cookie and
// Authorization headers it cannot read (cross-site tracing); nginx never
// serves them either.
func guardFraming(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 1 && (len(r.TransferEncoding) > 0 || r.ProtoMinor == 0) {
			w.Header()["Connection"] = hdrClose
		}
		if r.Method == http.MethodConnect || r.Method == http.MethodTrace || r.Method == "TRACK" {
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}

var hdrClose = []string{"close"}

// bodyDeadline gives a request body d to deliver each read, so that a
// client cannot hold a handler and an upstream connection by sending its
// body a byte at a time (ReadHeaderTimeout covers only the headers, and a
// whole-request ReadTimeout would cut slow honest uploads). A read that
// waits longer fails: the proxy answers 408 and the connection is closed. The deadline is lifted once the
// body ends, since the server's own read-ahead after it must not trip on
// it; after a failed read it stays, so that the server's draining of the
// rest of the body fails at once too.
func bodyDeadline(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			b := &idleBody{ReadCloser: r.Body, rc: http.NewResponseController(w), d: d}
			r = r.WithContext(context.WithValue(r.Context(), idleBodyKey{}, b))
			r.Body = b
		}
		next.ServeHTTP(w, r)
	})
}

type idleBodyKey struct{}

// bodyTimedOut reports whether r's body stopped coming (bodyDeadline): the
// server has then cancelled r's context, but the client is still there
// to be told 408.
func bodyTimedOut(r *http.Request) bool {
	b, ok := r.Context().Value(idleBodyKey{}).(*idleBody)
	return ok && b.timedOut.Load()
}

type idleBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	d        time.Duration
	done     bool
	timedOut atomic.Bool // read by the handler's goroutine
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	b.rc.SetReadDeadline(time.Now().Add(b.d))
	n, err := b.ReadCloser.Read(p)
	switch {
	case errors.Is(err, io.EOF):
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.timedOut.Store(true)
	}
	return n, err
}
