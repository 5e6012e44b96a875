package message

import (
	"bufio"
	"bytes"
	"io"
	"regexp"
	"strings"
	"time"
)

// addressFields are the header fields whose bare local parts ("root") get
// the qualify domain, as Postfix's append_at_myorigin does for local mail.
var addressFields = []string{"From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Bcc"}

var (
	// bareLocal is "root" or "root (Cron Daemon)", as cron writes them.
	bareLocal = regexp.MustCompile(`^(\s*)([^\s<>()",:;@\[\]\\]+)(\s*(?:\([^()]*\))?\s*)$`)
	// angleLocal is "Name <root>".
	angleLocal = regexp.MustCompile(`^([^<>]*<\s*)([^\s<>()",:;@\[\]\\]+)(\s*>\s*(?:\([^()]*\))?\s*)$`)
)

// QualifyAddresses appends "@domain" to the bare local parts in the
// address fields. A field whose every address has a domain (or that is
// too odd to rewrite safely, such as a group) is left byte for byte.
func (h *Header) QualifyAddresses(domain string) {
	for i := range h.fields {
		f := &h.fields[i]
		if !isAddressField(f.name) {
			continue
		}
		value := strings.ReplaceAll(string(f.raw[len(f.name)+1:]), "\r\n", "")
		parts := splitOutsideQuotes(value)
		changed := false
		for j, p := range parts {
			if q, ok := qualifyOne(p, domain); ok {
				parts[j], changed = q, true
			}
		}
		if changed {
			f.raw = foldField([]byte(f.name + ":" + strings.Join(parts, ",") + "\r\n"))
		}
	}
}

func isAddressField(name string) bool {
	for _, a := range addressFields {
		if strings.EqualFold(a, name) {
			return true
		}
	}
	return false
}

func qualifyOne(p, domain string) (string, bool) {
	for _, re := range []*regexp.Regexp{bareLocal, angleLocal} {
		if m := re.FindStringSubmatch(p); m != nil {
			return m[1] + m[2] + "@" + domain + m[3], true
		}
	}
	return p, false
}

// Local is what the daemon knows of a locally submitted message.
type Local struct {
	From          string // envelope sender, for a missing From field
	QualifyDomain string
	Hostname      string // for a missing Message-ID
	Now           time.Time
}

// Localize makes a message submitted by local software look as Postfix
// makes it: bare addresses in the address fields qualified, and Date,
// Message-ID and From added when missing. Only the header is held in
// memory; a header it cannot read whole (over 1 MB, no blank line, a line
// that is no field) passes through untouched.
func Localize(r io.Reader, l Local) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	raw, ok, err := readHeaderBlock(br)
	if err != nil {
		// Kept, not left to br, which reports a read error only once.
		return io.MultiReader(bytes.NewReader(raw), &errReader{err})
	}
	if !ok || !wellFormed(raw[:len(raw)-2]) {
		return io.MultiReader(bytes.NewReader(raw), br)
	}
	h := parseFields(raw[:len(raw)-2])
	h.QualifyAddresses(l.QualifyDomain)
	h.Complete(l.From, "", l.Hostname, l.Now)
	var out bytes.Buffer
	h.WriteTo(&out)
	return io.MultiReader(&out, br)
}

type errReader struct{ err error }

func (r *errReader) Read([]byte) (int, error) { return 0, r.err }

// readHeaderBlock reads through the blank line that ends the header,
// lines of any length included, up to maxHeaderBytes; ok is false when
// there is no such line within them. err is a read error other than EOF.
func readHeaderBlock(br *bufio.Reader) (raw []byte, ok bool, err error) {
	lineStart := 0
	for len(raw) <= maxHeaderBytes {
		chunk, err := br.ReadSlice('\n')
		raw = append(raw, chunk...)
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			return raw, false, nil
		case err != nil:
			return raw, false, err
		}
		if len(raw)-lineStart == 2 && bytes.HasSuffix(raw, []byte("\r\n")) {
			return raw, true, nil
		}
		lineStart = len(raw)
	}
	return raw, false, nil
}

// wellFormed reports whether every line is a field or a continuation.
func wellFormed(hdr []byte) bool {
	for i, line := range bytes.SplitAfter(hdr, []byte("\r\n")) {
		if len(line) == 0 {
			continue
		}
		if _, ok := fieldName(line); !ok && (i == 0 || line[0] != ' ' && line[0] != '\t') {
			return false
		}
	}
	return true
}
