package smtpd

import (
	"errors"
	"syscall"

	"github.com/emersion/go-smtp"
	"golang.org/x/sys/unix"
)

// errNoSpace is the reply while the spool cannot take a message: 452
// 4.3.1 (RFC 3463 "mail system full"), so the client keeps the message
// and tries again later.
var errNoSpace = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "insufficient system storage, try again later"}

// roomFor reports whether dir's file system has room for a message of up
// to maxSize octets with a margin, as Postfix's smtpd checks at MAIL
// (free space at least 1.5 × message_size_limit): refusing then costs the
// client nothing, refusing after DATA costs it the whole transfer. A
// failing statfs is no reason to refuse: writing the message will tell.
func roomFor(dir string, maxSize int64) bool {
	if dir == "" {
		return true
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return true
	}
	free := st.Bavail * uint64(st.Bsize)
	return free >= uint64(maxSize)+uint64(maxSize)/2
}

// isNoSpace reports whether err is a full file system or quota.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
