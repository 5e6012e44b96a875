// Package manpage renders bartleby.toml(5) from config.KeyDocs, the source
// of the README's config tables, so that the page and the README say the
// same thing.
package manpage

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"bartleby/internal/config"
)

// Config is the roff source of bartleby.toml(5) documenting tables.
func Config(tables []config.KeyTable) string {
	var b strings.Builder
	b.WriteString(head)
	for i, t := range tables {
		switch {
		case t.Header == "":
			b.WriteString(".SH \"GENERAL KEYS\"\n")
		case i == 0 || tables[i-1].Header == "":
			b.WriteString(".SH SECTIONS\n")
			fallthrough
		default:
			fmt.Fprintf(&b, ".SS \"%s\"\n", escape(t.Header))
		}
		for _, r := range t.Rows {
			b.WriteString(".TP\n" + line(r.Key) + "\n" + line(r.Meaning) + "\n")
			if r.Default != "" {
				b.WriteString(".br\n" + line("Default: "+r.Default) + "\n")
			}
		}
	}
	b.WriteString(tail)
	return b.String()
}

const head = `.TH BARTLEBY.TOML 5 "" "bartleby" "File Formats"
.nh
.ad l
.SH NAME
bartleby.toml \- configuration file of bartleby
.SH SYNOPSIS
.B /etc/bartleby/bartleby.toml
.SH DESCRIPTION
One TOML file configures every part of
.BR bartleby (8).
A part runs when its section is present:
.B [admin]
(the admin UI),
.B [web]
with
.B [[site]]
tables (the web front),
.B [mail]
(the relay and backup MX),
.B [ssh]
(the SFTP/rsync jail) and
.B [watch]
(behaviour checks, the clock check, an NTP server);
.B [acme]
gets certificates and
.B [fleet]
shares state between hosts through etcd.
.PP
Decoding is strict: an unknown key, a wrong type, a bad duration
(\fB"90s"\fR, \fB"30m"\fR, \fB"5d"\fR) or size (\fB"25MB"\fR, \fB"512KiB"\fR),
a missing file or two parts on one address is an error naming the file,
the line and the key, and every problem is reported at once by
.BR "bartleby check" .
Relative paths are relative to the directory of the config file.
Arrays of tables are counted from 1 in messages: \fBsite[1]\fR is the first
\fB[[site]]\fR.
.PP
Each key below is given with its default; a section left out leaves its
part off.
`

const tail = `.SH FILES
.TP
.I /etc/bartleby/bartleby.toml
the config, 0640 root:bartleby
.TP
.I /var/lib/bartleby
the state directory
.SH EXAMPLES
The packaged
.I /etc/bartleby/bartleby.toml
is a commented example of every part, each commented out but the admin UI
on loopback.
The README,
.IR /usr/share/doc/bartleby/README.md.gz ,
has an example and the behaviour of each part, with the same key tables.
.SH SEE ALSO
.BR bartleby (8),
.BR bartleby\-check (8),
.BR bartleby\-reload (8),
.BR systemctl (1)
`

// line is one line of roff text from markdown: a line starting with a
// control character (a dot or an apostrophe) is made text.
func line(md string) string {
	s := roff(md)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// roff converts the markdown of a key table cell: `code` and **strong**
// become bold, a link its text; \| (a | in a table cell) is a |.
func roff(md string) string {
	var b strings.Builder
	for i := 0; i < len(md); {
		rest := md[i:]
		if text, n := span(rest, "`", "`"); n > 0 {
			b.WriteString(`\fB` + escape(text) + `\fR`)
			i += n
		} else if text, n := span(rest, "**", "**"); n > 0 {
			b.WriteString(`\fB` + roff(text) + `\fR`)
			i += n
		} else if text, n := link(rest); n > 0 {
			b.WriteString(roff(text))
			i += n
		} else if strings.HasPrefix(rest, `\|`) {
			b.WriteString("|")
			i += 2
		} else {
			_, n := utf8.DecodeRuneInString(rest)
			b.WriteString(escape(rest[:n]))
			i += n
		}
	}
	return b.String()
}

// span returns what s holds between open at its start and the next close,
// and the length of it all; 0 when s does not start such a span.
func span(s, open, close string) (string, int) {
	if !strings.HasPrefix(s, open) {
		return "", 0
	}
	end := strings.Index(s[len(open):], close)
	if end < 0 {
		return "", 0
	}
	return strings.ReplaceAll(s[len(open):len(open)+end], `\|`, "|"), len(open) + end + len(close)
}

// link returns the text of a [text](target) at the start of s and its length.
func link(s string) (string, int) {
	text, n := span(s, "[", "](")
	if n == 0 || strings.ContainsAny(text, "[]") {
		return "", 0
	}
	end := strings.IndexByte(s[n:], ')')
	if end < 0 {
		return "", 0
	}
	return text, n + end + 1
}

// escape makes plain text safe in roff: a backslash printed as one, '-'
// as the minus sign (which is what a key, a flag or a path holds), and
// every non-ASCII character as a groff special character, which needs no
// input encoding.
func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-':
			b.WriteString(`\-`)
		case r > 127:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
