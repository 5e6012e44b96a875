package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"bartleby/internal/sshd/passwd"
)

// hashPasswordCmd is `hash-password` under `admin` and `sftp`: both take
// the same bcrypt hashes (cost 12, about a quarter second per login on a
// small machine: fine for people, slow for guessing).
func hashPasswordCmd(forKey string) *cobra.Command {
	return &cobra.Command{
		Use:   "hash-password",
		Short: "Read a password (prompted without echo, or one line of stdin) and print its bcrypt hash for " + forKey,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := readPassword(os.Stdin, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			h, err := passwd.Hash(string(pw))
			if err != nil {
				return exitError{exitUsage, err}
			}
			fmt.Fprintln(cmd.OutOrStdout(), h)
			return nil
		},
	}
}

// readPassword prompts twice without echo on a terminal, or reads the first
// line of a pipe.
func readPassword(in *os.File, prompt io.Writer) ([]byte, error) {
	fd := int(in.Fd())
	var pw []byte
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
		line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading the password: %w", err)
		}
		pw = []byte(strings.TrimRight(line, "\r\n"))
	} else {
		var err error
		if pw, err = promptNoEcho(fd, prompt, "Password: "); err != nil {
			return nil, err
		}
		again, err := promptNoEcho(fd, prompt, "Again: ")
		if err != nil {
			return nil, err
		}
		if string(again) != string(pw) {
			return nil, exitError{exitUsage, errors.New("the two passwords differ")}
		}
	}
	switch {
	case len(pw) == 0:
		return nil, exitError{exitUsage, errors.New("empty password")}
	case len(pw) > 72:
		return nil, exitError{exitUsage, errors.New("the password is longer than 72 bytes, which bcrypt cannot use")}
	}
	return pw, nil
}

// promptNoEcho reads one line from the terminal fd with echo off, and puts
// echo back even on Ctrl-C.
func promptNoEcho(fd int, prompt io.Writer, msg string) ([]byte, error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return nil, fmt.Errorf("turning off echo: %w", err)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			unix.IoctlSetTermios(fd, unix.TCSETS, old)
			fmt.Fprintln(prompt)
			os.Exit(130)
		case <-done:
		}
	}()
	defer func() {
		close(done)
		signal.Stop(sigs)
		unix.IoctlSetTermios(fd, unix.TCSETS, old)
		fmt.Fprintln(prompt)
	}()
	fmt.Fprint(prompt, msg)
	var line []byte
	buf := make([]byte, 1)
	for len(line) <= 4096 {
		n, err := unix.Read(fd, buf)
		if err != nil {
			return nil, fmt.Errorf("reading the password: %w", err)
		}
		if n == 0 || buf[0] == '\n' || buf[0] == '\r' {
			break
		}
		line = append(line, buf[0])
	}
	return line, nil
}
