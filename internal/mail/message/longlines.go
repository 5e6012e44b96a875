package message

import (
	"bytes"
	"mime"
	"mime/quotedprintable"
	"strings"
	"unicode/utf8"
)

// FixLongLines makes a message (CRLF line ends, as Normalize gives it) fit
// RFC 5322's limit of 998 octets a line without changing what it says, as
// Postfix accepts such mail from cron and scripts that cannot resend. Only
// the leaf parts holding a long line are touched: text in 7bit, 8bit or
// binary (or none declared) is re-encoded as quoted-printable, base64 is
// rewrapped, quoted-printable is encoded again. Folding is the last resort:
// header fields, preambles and epilogues (which readers ignore), and parts
// in an encoding bartleby does not know. A message without a long line is
// returned as it is.
func FixLongLines(msg []byte) []byte {
	if !hasLongLine(msg) {
		return msg
	}
	return fixEntity(msg, true)
}

func hasLongLine(b []byte) bool {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return len(b) > MaxLine
		}
		if len(bytes.TrimSuffix(b[:i], []byte("\r"))) > MaxLine {
			return true
		}
		b = b[i+1:]
	}
	return false
}

// fixEntity fixes a message or a MIME part: header, then body.
func fixEntity(ent []byte, top bool) []byte {
	rawHdr, body := splitEntity(ent)
	h := parseFields(rawHdr)
	if hasLongLine(body) {
		media, params, err := mime.ParseMediaType(first(h.Values("Content-Type")))
		if err != nil {
			media = "text/plain"
		}
		switch {
		case strings.HasPrefix(media, "multipart/") && params["boundary"] != "":
			body = fixMultipart(body, params["boundary"])
		case media == "message/rfc822":
			body = fixEntity(body, false)
		default:
			body = encodeLeaf(h, body, top)
		}
		if top && !h.Has("MIME-Version") {
			h.Add("MIME-Version", "1.0")
		}
	}
	for i := range h.fields {
		h.fields[i].raw = foldField(h.fields[i].raw)
	}
	var out bytes.Buffer
	h.WriteTo(&out)
	out.Write(body)
	return out.Bytes()
}

// splitEntity cuts at the first empty line; an entity without one is all
// header.
func splitEntity(ent []byte) (hdr, body []byte) {
	if bytes.HasPrefix(ent, []byte("\r\n")) {
		return nil, ent[2:]
	}
	if i := bytes.Index(ent, []byte("\r\n\r\n")); i >= 0 {
		return ent[:i+2], ent[i+4:]
	}
	return ent, nil
}

// parseFields splits a header block into fields, without the line limit
// of ReadHeader; a line that is no field joins the one before.
func parseFields(b []byte) *Header {
	h := &Header{}
	for len(b) > 0 {
		end := bytes.Index(b, []byte("\r\n"))
		if end < 0 {
			end = len(b) - 2
			b = append(b[:len(b):len(b)], '\r', '\n')
		}
		line := b[:end+2]
		b = b[end+2:]
		name, ok := fieldName(line)
		if ok || len(h.fields) == 0 {
			h.fields = append(h.fields, field{name: name})
		}
		f := &h.fields[len(h.fields)-1]
		f.raw = append(f.raw, line...)
	}
	return h
}

func first(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}

// encodeLeaf re-encodes a single part's body and sets its
// Content-Transfer-Encoding.
func encodeLeaf(h *Header, body []byte, top bool) []byte {
	cte := strings.ToLower(first(h.Values("Content-Transfer-Encoding")))
	switch cte {
	case "base64":
		return wrapBase64(body)
	case "quoted-printable":
		decoded, err := readAllQP(body)
		if err != nil {
			return hardWrap(body)
		}
		body = decoded
	case "", "7bit", "8bit", "binary":
	default:
		return hardWrap(body) // an encoding we cannot redo
	}
	if top && !h.Has("Content-Type") && !isASCII(body) && utf8.Valid(body) {
		// Undeclared 8-bit text: UTF-8 is the only guess that keeps it.
		h.Add("Content-Type", "text/plain; charset=utf-8")
	}
	h.Del("Content-Transfer-Encoding")
	h.Add("Content-Transfer-Encoding", "quoted-printable")
	var out bytes.Buffer
	w := quotedprintable.NewWriter(&out)
	w.Write(body)
	w.Close()
	return out.Bytes()
}

func readAllQP(b []byte) ([]byte, error) {
	var out bytes.Buffer
	_, err := out.ReadFrom(quotedprintable.NewReader(bytes.NewReader(b)))
	return out.Bytes(), err
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// wrapBase64 rewraps base64 text at 76 characters, as RFC 2045 asks; the
// decoded content is the same.
func wrapBase64(b []byte) []byte {
	var out bytes.Buffer
	n := 0
	for _, c := range b {
		if c == '\r' || c == '\n' {
			continue
		}
		if n == 76 {
			out.WriteString("\r\n")
			n = 0
		}
		out.WriteByte(c)
		n++
	}
	out.WriteString("\r\n")
	return out.Bytes()
}

// fixMultipart fixes each part between the boundary delimiters; the
// delimiters are kept byte for byte.
func fixMultipart(body []byte, boundary string) []byte {
	delims := delimiterLines(body, "--"+boundary)
	if len(delims) == 0 {
		return hardWrap(body)
	}
	var out bytes.Buffer
	out.Write(hardWrap(body[:delims[0].start])) // the preamble
	for k, d := range delims {
		out.Write(body[d.start:d.end])
		if d.close {
			out.Write(hardWrap(body[d.end:])) // the epilogue
			break
		}
		next := len(body)
		if k+1 < len(delims) {
			next = delims[k+1].start
		}
		part := body[d.end:next]
		content, crlf := bytes.CutSuffix(part, []byte("\r\n"))
		if k+1 == len(delims) {
			content, crlf = part, false // no closing delimiter: runs to the end
		}
		out.Write(fixEntity(content, false))
		if crlf {
			out.WriteString("\r\n")
		}
	}
	return out.Bytes()
}

type delimiter struct {
	start, end int // the line, with its CRLF
	close      bool
}

// delimiterLines finds the lines that are "--boundary" or "--boundary--",
// allowing trailing white space (RFC 2046 5.1.1).
func delimiterLines(body []byte, delim string) []delimiter {
	var out []delimiter
	for pos := 0; pos < len(body); {
		end := bytes.Index(body[pos:], []byte("\r\n"))
		if end < 0 {
			end = len(body)
		} else {
			end += pos + 2
		}
		line := bytes.TrimRight(body[pos:end], " \t\r\n")
		if rest, ok := bytes.CutPrefix(line, []byte(delim)); ok && (len(rest) == 0 || string(rest) == "--") {
			out = append(out, delimiter{start: pos, end: end, close: len(rest) > 0})
			if len(rest) > 0 {
				break
			}
		}
		pos = end
	}
	return out
}

// hardWrap breaks every line over MaxLine: the last resort, for text
// whose exact line breaks do not matter or cannot be kept.
func hardWrap(b []byte) []byte {
	if !hasLongLine(b) {
		return b
	}
	var out bytes.Buffer
	n := 0
	for _, c := range b {
		switch {
		case c == '\r' || c == '\n':
			n = 0
		case n == MaxLine:
			out.WriteString("\r\n")
			n = 1
		default:
			n++
		}
		out.WriteByte(c)
	}
	return out.Bytes()
}

// foldField folds a header field's long lines before white space, so it
// unfolds to the same value; with no white space in reach it breaks the
// line where it must.
func foldField(raw []byte) []byte {
	if !hasLongLine(raw) {
		return raw
	}
	var out []byte
	for _, line := range bytes.SplitAfter(raw, []byte("\r\n")) {
		line = bytes.TrimSuffix(line, []byte("\r\n"))
		for len(line) > MaxLine {
			cut := bytes.LastIndexAny(line[1:MaxLine], " \t") + 1
			if cut <= 0 {
				out = append(append(out, line[:MaxLine]...), "\r\n"...)
				line = append([]byte{' '}, line[MaxLine:]...)
				continue
			}
			out = append(append(out, line[:cut]...), "\r\n"...)
			line = line[cut:]
		}
		if len(line) > 0 {
			out = append(append(out, line...), "\r\n"...)
		}
	}
	return out
}
