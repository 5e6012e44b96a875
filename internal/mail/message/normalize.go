// Package message is what bartleby does to the content of mail: line-ending
// normalisation with RFC 5322 limits, the headers a submission lacks, and
// the recipients of `sendmail -t`.
package message

import (
	"bufio"
	"errors"
	"io"
)

// MaxLine is RFC 5322's limit on a line, without its CRLF.
const MaxLine = 998

// Errors of Normalize. Long lines are rejected, not folded: folding a body
// line would change the message. Local submissions, whose senders often
// cannot resend, use NormalizeLong and FixLongLines instead.
var (
	ErrLongLine = errors.New("a line is longer than 998 octets (RFC 5322 2.1.1); encode the body (quoted-printable or base64)")
	ErrNUL      = errors.New("the message contains a NUL byte")
)

// Normalize returns a reader giving r's content with every line ending as
// CRLF (bare LF and bare CR become CRLF) and a final CRLF; it fails with
// ErrLongLine or ErrNUL.
func Normalize(r io.Reader) io.Reader {
	return &normalizer{r: bufio.NewReaderSize(r, 32<<10), limit: true}
}

// NormalizeLong is Normalize without the line limit (ErrNUL remains).
func NormalizeLong(r io.Reader) io.Reader {
	return &normalizer{r: bufio.NewReaderSize(r, 32<<10)}
}

type normalizer struct {
	r       *bufio.Reader
	limit   bool // lines over MaxLine are an error
	out     []byte
	lineLen int
	lastCR  bool
	started bool
	err     error
}

func (n *normalizer) Read(p []byte) (int, error) {
	for len(n.out) == 0 {
		if n.err != nil {
			return 0, n.err
		}
		n.fill()
	}
	c := copy(p, n.out)
	n.out = n.out[c:]
	return c, nil
}

// fill converts the next buffered chunk.
func (n *normalizer) fill() {
	if n.r.Buffered() == 0 {
		if _, err := n.r.Peek(1); err != nil {
			n.finish(err)
			return
		}
	}
	chunk, _ := n.r.Peek(n.r.Buffered())
	out := n.out[:0]
	for _, b := range chunk {
		n.started = true
		switch {
		case b == 0:
			n.err = ErrNUL
			n.out = out
			return
		case b == '\n':
			if !n.lastCR {
				out = append(out, '\r')
			}
			out = append(out, '\n')
			n.lineLen, n.lastCR = 0, false
			continue
		case n.lastCR: // a bare CR ends a line too
			out = append(out, '\n')
			n.lineLen = 0
		}
		n.lastCR = b == '\r'
		if !n.lastCR {
			n.lineLen++
			if n.limit && n.lineLen > MaxLine {
				n.err = ErrLongLine
				n.out = out
				return
			}
		}
		out = append(out, b)
	}
	n.r.Discard(len(chunk))
	n.out = out
}

// finish ends the message with CRLF unless it ended with one or was empty.
func (n *normalizer) finish(err error) {
	if err != io.EOF {
		n.err = err
		return
	}
	n.err = io.EOF
	switch {
	case n.lastCR:
		n.out = append(n.out[:0], '\n')
	case n.started && n.lineLen > 0:
		n.out = append(n.out[:0], '\r', '\n')
	}
}

// LineWatch passes a CRLF text through and notes whether a line was longer
// than MaxLine, so that the rare message needing FixLongLines can be told
// apart without holding every message in memory.
type LineWatch struct {
	r       io.Reader
	lineLen int
	long    bool
}

// WatchLines wraps r.
func WatchLines(r io.Reader) *LineWatch { return &LineWatch{r: r} }

func (w *LineWatch) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	for _, c := range p[:n] {
		switch c {
		case '\n', '\r':
			w.lineLen = 0
		default:
			w.lineLen++
			w.long = w.long || w.lineLen > MaxLine
		}
	}
	return n, err
}

// Long reports whether a line longer than MaxLine went through.
func (w *LineWatch) Long() bool { return w.long }
