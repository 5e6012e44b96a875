package message

import (
	"bytes"
	"io"
	"net/mail"
	"strings"
)

// maxWatchedHeader bounds what a HeaderWatcher keeps: a header longer than
// this is unusual, and its Message-ID is nearly always near the top.
const maxWatchedHeader = 64 << 10

// HeaderWatcher passes a message through unchanged and keeps a copy of its
// header, so that a field can be read once the message has been written.
type HeaderWatcher struct {
	r    io.Reader
	head []byte
	done bool
}

// WatchHeader watches the header of the message read from r.
func WatchHeader(r io.Reader) *HeaderWatcher { return &HeaderWatcher{r: r} }

func (h *HeaderWatcher) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if !h.done && n > 0 {
		from := max(0, len(h.head)-3) // the blank line may straddle reads
		h.head = append(h.head, p[:min(n, maxWatchedHeader+4-len(h.head))]...)
		if i := headerEnd(h.head[from:]); i >= 0 {
			h.head, h.done = h.head[:from+i], true
		} else if len(h.head) > maxWatchedHeader {
			h.head, h.done = h.head[:maxWatchedHeader], true
		}
	}
	return n, err
}

// headerEnd is where the blank line that ends a header starts, or -1.
func headerEnd(b []byte) int {
	crlf, lf := bytes.Index(b, []byte("\r\n\r\n")), bytes.Index(b, []byte("\n\n"))
	switch {
	case crlf >= 0 && (lf < 0 || crlf < lf):
		return crlf + 2
	case lf >= 0:
		return lf + 1
	}
	return -1
}

// ReadMessageID reads a message's header from r, and at most 4 KiB past
// it, and returns its Message-ID.
func ReadMessageID(r io.Reader) string {
	h := WatchHeader(r)
	buf := make([]byte, 4096)
	for !h.done {
		if _, err := h.Read(buf); err != nil {
			break
		}
	}
	return h.MessageID()
}

// MessageID is the Message-ID field seen, "" when there was none (or the
// header could not be parsed), unfolded and at most 998 octets.
func (h *HeaderWatcher) MessageID() string {
	msg, err := mail.ReadMessage(bytes.NewReader(append(bytes.Clone(h.head), "\r\n\r\n"...)))
	if err != nil {
		return ""
	}
	id := strings.Join(strings.Fields(msg.Header.Get("Message-Id")), "")
	return id[:min(len(id), 998)]
}
