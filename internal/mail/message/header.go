package message

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"
)

// Limits on the header block read by ReadHeader.
const (
	maxHeaderBytes  = 1 << 20
	maxHeaderFields = 1000
)

// Header is a message's header block, kept byte for byte so that fields
// bartleby does not touch pass through unchanged.
type Header struct {
	fields []field
}

type field struct {
	name string // as written
	raw  []byte // the whole field with its continuation lines and CRLFs
}

// ErrHeaderTooBig is a header block over 1 MB or 1000 fields.
var ErrHeaderTooBig = errors.New("the header is larger than 1 MB or 1000 fields")

// ReadHeader reads the header block and the blank line after it. A line that
// is neither a field nor a continuation ends the header without being
// consumed: it starts the body, as in sendmail. The input must already be
// normalised to CRLF.
func ReadHeader(r *bufio.Reader) (*Header, error) {
	h := &Header{}
	total := 0
	for {
		peek, err := r.Peek(1)
		if err != nil {
			if err == io.EOF {
				return h, nil
			}
			return nil, err
		}
		if peek[0] == '\r' { // the blank line
			line, err := r.ReadSlice('\n')
			if err != nil || string(line) != "\r\n" {
				return nil, errors.New("malformed blank line after the header")
			}
			return h, nil
		}
		cont := peek[0] == ' ' || peek[0] == '\t'
		if !cont {
			line, _ := r.Peek(MaxLine + 2)
			name, ok := fieldName(line)
			if !ok {
				return h, nil
			}
			h.fields = append(h.fields, field{name: name})
		} else if len(h.fields) == 0 {
			return h, nil
		}
		line, err := readCRLFLine(r)
		if err != nil {
			return nil, err
		}
		total += len(line)
		if total > maxHeaderBytes || len(h.fields) > maxHeaderFields {
			return nil, ErrHeaderTooBig
		}
		f := &h.fields[len(h.fields)-1]
		f.raw = append(f.raw, line...)
	}
}

func readCRLFLine(r *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		chunk, err := r.ReadSlice('\n')
		out = append(out, chunk...)
		if err == nil || err == io.EOF {
			if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
				out = append(out, '\r', '\n')
			}
			return out, nil
		}
		if err != bufio.ErrBufferFull || len(out) > MaxLine+2 {
			return nil, ErrLongLine
		}
	}
}

// fieldName returns the name of a "Name: value" line: printable ASCII
// without space or colon, then a colon.
func fieldName(line []byte) (string, bool) {
	for i, c := range line {
		switch {
		case c == ':' && i > 0:
			return string(line[:i]), true
		case c <= ' ' || c >= 0x7f:
			return "", false
		}
	}
	return "", false
}

// Has reports whether a field is present (names are case-insensitive).
func (h *Header) Has(name string) bool { return len(h.Values(name)) > 0 }

// Values returns the unfolded values of every field called name.
func (h *Header) Values(name string) []string {
	var out []string
	for _, f := range h.fields {
		if strings.EqualFold(f.name, name) {
			v := string(f.raw[len(f.name)+1:])
			v = strings.NewReplacer("\r\n", "").Replace(v)
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// Del removes every field called name.
func (h *Header) Del(name string) {
	kept := h.fields[:0]
	for _, f := range h.fields {
		if !strings.EqualFold(f.name, name) {
			kept = append(kept, f)
		}
	}
	h.fields = kept
}

// Add appends a field. value must not contain CR or LF.
func (h *Header) Add(name, value string) {
	h.fields = append(h.fields, field{name: name, raw: []byte(name + ": " + value + "\r\n")})
}

// Prepend puts a field first, where trace fields (Received) go.
func (h *Header) Prepend(name, value string) {
	h.fields = append([]field{{name: name, raw: []byte(name + ": " + value + "\r\n")}}, h.fields...)
}

// WriteTo writes the fields and the blank line that ends the header.
func (h *Header) WriteTo(w io.Writer) (int64, error) {
	var b bytes.Buffer
	for _, f := range h.fields {
		b.Write(f.raw)
	}
	b.WriteString("\r\n")
	return b.WriteTo(w)
}

// Recipients returns the addresses of To, Cc and Bcc, as `sendmail -t`
// uses them. Bare local parts ("root") are allowed, as cron writes them.
func (h *Header) Recipients() ([]string, error) {
	var out []string
	for _, name := range []string{"To", "Cc", "Bcc"} {
		for _, v := range h.Values(name) {
			list, err := parseAddressList(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %v", name, clip(v), err)
			}
			out = append(out, list...)
		}
	}
	return out, nil
}

// parseAddressList parses an address list with net/mail, falling back to
// element by element for bare local parts, which net/mail refuses.
func parseAddressList(v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	if list, err := mail.ParseAddressList(v); err == nil {
		out := make([]string, len(list))
		for i, a := range list {
			out[i] = a.Address
		}
		return out, nil
	}
	var out []string
	for _, part := range splitOutsideQuotes(v) {
		part = strings.TrimSpace(part)
		if part == "" || strings.HasSuffix(part, ":;") {
			continue // an empty group such as "undisclosed-recipients:;"
		}
		if a, err := mail.ParseAddress(part); err == nil {
			out = append(out, a.Address)
			continue
		}
		if i := strings.LastIndexByte(part, '<'); i >= 0 && strings.HasSuffix(part, ">") {
			part = part[i+1 : len(part)-1]
		}
		if part == "" || strings.ContainsAny(part, " \t\"<>(),;:@[]\\") {
			return nil, fmt.Errorf("%q is not an address", clip(part))
		}
		out = append(out, part)
	}
	return out, nil
}

// splitOutsideQuotes splits on commas that are not inside "…" or <…>.
func splitOutsideQuotes(s string) []string {
	var out []string
	quoted, angle, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case c == '<' && !quoted:
			angle = true
		case c == '>' && !quoted:
			angle = false
		case c == ',' && !quoted && !angle:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// Complete adds what a submitted message lacks: Date, Message-ID, and From
// (from the envelope sender and its full name).
func (h *Header) Complete(from, fullName, hostname string, now time.Time) {
	if !h.Has("From") && from != "" {
		h.Add("From", (&mail.Address{Name: fullName, Address: from}).String())
	}
	if !h.Has("Date") {
		h.Add("Date", now.Format(time.RFC1123Z))
	}
	if !h.Has("Message-ID") {
		h.Add("Message-ID", NewMessageID(hostname, now))
	}
}

// NewMessageID makes a unique <…@hostname>.
func NewMessageID(hostname string, now time.Time) string {
	var b [8]byte
	rand.Read(b[:])
	return fmt.Sprintf("<%d.%s@%s>", now.Unix(), hex.EncodeToString(b[:]), hostname)
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
