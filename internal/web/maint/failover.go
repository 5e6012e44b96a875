package maint

import (
	"io"
	"maps"
	"net/http"
)

// failover stands between a when_backend_down site and a request that
// found its backend up. The proxy learns that an upstream is down from a
// request that fails on it: the first one, and the one that tries it
// again when fail_duration ends. If that failure (a 502 or 504) has just
// made the backend down for the request, the request gets the maintenance
// page, as the requests after it will, instead of the error page; a
// client that bypasses maintenance still gets the error.
type failover struct {
	http.ResponseWriter
	m           *Manager
	st          *site
	r           *http.Request
	backendDown func(*http.Request) bool
	kept        http.Header // the headers set before the site's handler ran
	decided     bool        // the answer's status is known
	replaced    bool        // the maintenance page went out instead
}

func (f *failover) WriteHeader(code int) {
	switch {
	case f.replaced:
		return
	case f.decided || code < http.StatusOK: // informational answers pass
		f.ResponseWriter.WriteHeader(code)
		return
	}
	f.decided = true
	if (code == http.StatusBadGateway || code == http.StatusGatewayTimeout) && f.replace() {
		f.replaced = true
		return
	}
	f.ResponseWriter.WriteHeader(code)
}

// replace serves the maintenance page when the site is now down for the
// request and the client does not bypass; it reports whether it did.
func (f *failover) replace() bool {
	resp := f.m.down(f.st, f.r, f.backendDown)
	now := f.m.now()
	if resp == nil || f.st.cfg.bypasses(f.r, now) {
		return false
	}
	h := f.ResponseWriter.Header()
	clear(h)
	maps.Copy(h, f.kept)
	resp.serve(f.ResponseWriter, f.r, now)
	return true
}

func (f *failover) Write(b []byte) (int, error) {
	if !f.decided {
		f.WriteHeader(http.StatusOK)
	}
	if f.replaced {
		return len(b), nil
	}
	return f.ResponseWriter.Write(b)
}

// ReadFrom keeps sendfile for static files: the writer below has its own.
func (f *failover) ReadFrom(src io.Reader) (int64, error) {
	if !f.decided {
		f.WriteHeader(http.StatusOK)
	}
	if f.replaced {
		return io.Copy(io.Discard, src)
	}
	return io.Copy(f.ResponseWriter, src)
}

// Unwrap lets http.ResponseController reach the connection (flush,
// deadlines, hijack for WebSocket).
func (f *failover) Unwrap() http.ResponseWriter { return f.ResponseWriter }
