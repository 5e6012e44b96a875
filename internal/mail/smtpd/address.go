package smtpd

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-smtp"
	"golang.org/x/net/idna"

	"bartleby/internal/config"
	"bartleby/internal/mail/aliases"
)

// maxDomain is RFC 1035's limit on a domain name in text form.
const maxDomain = 253

// checkPath checks an envelope address beyond what go-smtp parses: what
// aliases.CheckAddress asks of any address in the queue, non-ASCII only
// in a transaction that declared SMTPUTF8 (RFC 6531 3.4), and a domain
// that is a real host name. The domain check is what keeps relay tricks
// out of the queue: "evil.test!.example.org", "x..example.org" and
// look-alike Unicode domains would otherwise pass a suffix match.
func checkPath(addr, what string, utf8Declared bool, code smtp.EnhancedCode) error {
	bad := &smtp.SMTPError{Code: 553, EnhancedCode: code, Message: "malformed " + what + " address"}
	if aliases.CheckAddress(addr) != nil || !Printable(addr) {
		return bad
	}
	if !utf8Declared && !isASCII(addr) {
		return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 6, 7}, Message: "non-ASCII " + what + " address without SMTPUTF8"}
	}
	if _, domain, ok := strings.Cut(addr, "@"); ok {
		if _, ok := DomainKey(domain); !ok {
			return bad
		}
	}
	return nil
}

// Printable reports whether s is valid UTF-8 without control or format
// characters: C1 controls such as U+009B (a terminal's CSI) and bidi
// overrides would otherwise reach `mail show`, the logs and DSNs.
func Printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// DomainKey is the form in which two spellings of one domain compare
// equal: lower-case ASCII, IDNs as A-labels. ok is false for anything
// that is not a host name: labels of letters, digits, hyphens (and
// underscores, which Postfix allows too), none empty or over 63 octets,
// none starting or ending with a hyphen. Case is folded for ASCII only:
// Unicode folding would make "\u212Ade.org" (Kelvin sign) equal
// "kde.org"; such a name is refused by IDNA's registration rules instead.
func DomainKey(domain string) (string, bool) {
	d := asciiLower(domain)
	if !isASCII(d) {
		a, err := idna.Registration.ToASCII(d)
		if err != nil {
			return "", false
		}
		d = a
	}
	if d == "" || len(d) > maxDomain {
		return "", false
	}
	for _, label := range strings.Split(d, ".") {
		if !config.HostLabel(label) {
			return "", false
		}
	}
	return d, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// asciiLower lower-cases ASCII letters only.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// SameAddress compares two addresses as the backup MX must: the local
// part byte for byte but for ASCII case (as Postfix's lookups do), the
// domain by DomainKey.
func SameAddress(a, b string) bool {
	la, da, _ := strings.Cut(a, "@")
	lb, db, _ := strings.Cut(b, "@")
	ka, oka := DomainKey(da)
	kb, okb := DomainKey(db)
	return asciiLower(la) == asciiLower(lb) && oka && okb && ka == kb
}

// SourceRouted reports whether a recipient asks for routing beyond the
// domain it names, with the percent hack ("u%evil.test@example.org") or
// a bang path ("evil.test!u@example.org"). A host that forwards such an
// address to a primary which honours it is an open relay, so, like
// Postfix with allow_untrusted_routing = no, the backup MX refuses it.
func SourceRouted(addr string) bool {
	local, _, _ := strings.Cut(addr, "@")
	return strings.ContainsAny(local, "%!")
}
