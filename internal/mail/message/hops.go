package message

import (
	"errors"
	"io"
)

// MaxHops is how many Received fields a message may carry, as Postfix's
// hopcount_limit: past it the message is taken to be in a mail loop (two
// MXes, or a primary and its backup, forwarding it to each other).
const MaxHops = 50

// ErrLoop is LimitHops' error.
var ErrLoop = errors.New("more than 50 Received fields: a mail loop (RFC 5321 6.3)")

// LimitHops passes a message through and fails with ErrLoop once its
// header has more than MaxHops Received fields. Only field names at the
// start of a header line count; folded lines and the body do not.
func LimitHops(r io.Reader) io.Reader { return &hopCounter{r: r, lineStart: true} }

type hopCounter struct {
	r         io.Reader
	lineStart bool
	matched   int // octets of "received:" the current line starts with; -1 once it does not
	body      bool
	hops      int
}

const receivedName = "received:"

func (h *hopCounter) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	for i := 0; i < n && !h.body; i++ {
		h.see(p[i])
		if h.hops > MaxHops {
			return 0, ErrLoop
		}
	}
	return n, err
}

// see takes one octet of the header.
func (h *hopCounter) see(c byte) {
	switch {
	case c == '\n':
		h.body = h.lineStart // an empty line ends the header
		h.lineStart, h.matched = true, 0
		return
	case c == '\r':
		return
	}
	h.lineStart = false
	switch {
	case h.matched < 0:
	case lower(c) != receivedName[h.matched]:
		h.matched = -1
	case h.matched+1 == len(receivedName):
		h.hops++
		h.matched = -1
	default:
		h.matched++
	}
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
