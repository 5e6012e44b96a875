package proxycache

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
)

// result is the upstream's answer to one fetch, caught as the route's
// action writes it. A body larger than limit is not kept: it goes to the
// client that asked (or the fetch stops when no client waits for it).
type result struct {
	header   http.Header
	status   int
	buf      bytes.Buffer
	limit    int
	client   http.ResponseWriter
	label    bool // the client's answer carries X-Cache
	cancel   context.CancelFunc
	streamed bool // the body went to client
	broken   bool // the body could not be read or delivered whole
	entry    *entry
}

var errTooLarge = errors.New("proxycache: response too large to cache and nobody to stream it to")

func (res *result) Header() http.Header { return res.header }

func (res *result) WriteHeader(code int) {
	if res.status == 0 && code >= 200 { // 1xx informational answers are not the answer
		res.status = code
	}
}

func (res *result) Write(p []byte) (int, error) {
	if res.status == 0 {
		res.status = http.StatusOK
	}
	if !res.streamed && res.buf.Len()+len(p) <= res.limit {
		return res.buf.Write(p)
	}
	if !res.streamed {
		if res.client == nil {
			res.broken = true
			res.cancel()
			return 0, errTooLarge
		}
		res.streamed = true
		h := res.client.Header()
		for k, v := range res.header {
			h[k] = v
		}
		if res.label {
			h.Set("X-Cache", "MISS")
		}
		res.client.WriteHeader(res.status)
		if _, err := res.client.Write(res.buf.Bytes()); err != nil {
			return res.abort(err)
		}
		res.buf = bytes.Buffer{}
	}
	n, err := res.client.Write(p)
	if err != nil {
		return res.abort(err)
	}
	return n, nil
}

// abort stops the upstream read when the client has gone.
func (res *result) abort(err error) (int, error) {
	res.broken = true
	res.cancel()
	return 0, err
}

// failed reports an answer that a stale copy is better than (RFC 5861:
// an error, or a 500, 502, 503 or 504).
func (res *result) failed() bool {
	return res.broken || res.status == 500 || res.status == 502 || res.status == 503 || res.status == 504
}

// shared reports whether a waiter may get the leader's uncached answer: an
// upstream error page, but nothing personal.
func (res *result) shared() bool {
	d := parseCacheControl(res.header)
	return !res.streamed && !res.broken && res.status >= 500 && !d.private && len(res.header.Values("Set-Cookie")) == 0
}

// writeTo sends the uncached answer as it came. Waiters share it: each
// value slice is clipped, so that a header added later copies it.
func (res *result) writeTo(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for k, v := range res.header {
		h[k] = slices.Clip(v)
	}
	w.WriteHeader(res.status)
	if r.Method != http.MethodHead {
		w.Write(res.buf.Bytes())
	}
}
