package sendmail

import (
	"fmt"
	"io"
	"net"
	"time"
)

// ServeSMTP is -bs: an SMTP session on in/out, relayed to the submission
// listener, so the dialogue is the daemon's own.
func ServeSMTP(s *Settings, in io.Reader, out io.Writer) error {
	if s.Submit == "" {
		fmt.Fprintf(out, "421 4.3.0 %s submission is off (mail.submit is empty)\r\n", s.Hostname)
		return fail(ExitTempFail, "-bs needs the submission listener; mail.submit is empty")
	}
	conn, err := net.DialTimeout("tcp", s.Submit, 10*time.Second)
	if err != nil {
		fmt.Fprintf(out, "421 4.3.0 %s mail system not running, try again later\r\n", s.Hostname)
		return fail(ExitTempFail, "bartleby does not answer on %s: %v", s.Submit, err)
	}
	defer conn.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(out, conn)
		close(done)
	}()
	io.Copy(conn, in)
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	<-done
	return nil
}
