package main

import (
	"errors"
	"fmt"
	"io/fs"

	"bartleby/internal/config"
	"bartleby/internal/control"
	"bartleby/internal/mail/sendmail"
)

// dialAsUser connects for the commands every local user may run (mailq,
// sendmail's settings): through the control socket when the caller may
// use it, else through the daemon's public socket. A user who may not read
// the config (it is 0640 root:bartleby: it holds password hashes) finds the
// daemon at the default state_dir.
func dialAsUser() (*control.Client, error) {
	dir, err := stateDir(g.config)
	switch {
	case errors.Is(err, fs.ErrPermission):
		dir = config.Defaults().StateDir
	case err != nil:
		return nil, err
	}
	c, err := control.Dial(dir)
	if !errors.Is(err, fs.ErrPermission) {
		return c, err
	}
	c, err = control.DialPublic(dir)
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("%w: state_dir %s must be 0711 (the default) for users outside the bartleby group", err, dir)
	}
	return c, err
}

// loadSendmailSettings reads what sendmail needs from the config file, or,
// when the caller may not read it, asks the running daemon.
func loadSendmailSettings() (*sendmail.Settings, error) {
	s, err := sendmail.LoadSettings(g.config)
	if !errors.Is(err, fs.ErrPermission) {
		return s, err
	}
	c, derr := dialAsUser()
	if derr != nil {
		return nil, fmt.Errorf("%w, and the daemon does not answer (%v): mail not sent", err, derr)
	}
	defer c.Close()
	s = &sendmail.Settings{}
	if derr := c.Call("mail.sendmail_settings", nil, s); derr != nil {
		return nil, fmt.Errorf("%w, and the daemon did not say (%v): mail not sent", err, derr)
	}
	return s, nil
}
