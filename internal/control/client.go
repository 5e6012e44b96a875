package control

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"syscall"
	"time"
)

// ErrNotRunning means no daemon answers on the socket.
var ErrNotRunning = errors.New("bartleby is not running")

// Client is a connection to the daemon's control socket.
type Client struct {
	conn net.Conn
	r    *bufio.Reader
}

// Dial connects to the control socket of the daemon whose state is in dir.
func Dial(dir string) (*Client, error) { return dial(filepath.Join(dir, SocketName)) }

// DialPublic connects to the daemon's public socket, which answers only
// the commands every local user may run.
func DialPublic(dir string) (*Client, error) { return dial(filepath.Join(dir, PublicSocketName)) }

func dial(path string) (*Client, error) {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%w (no daemon answers on %s)", ErrNotRunning, path)
		}
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return &Client{conn: c, r: bufio.NewReaderSize(c, 64<<10)}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Call sends cmd with args and decodes the result into out (unless nil).
// The daemon's error comes back as the returned error.
func (c *Client) Call(cmd string, args, out any) error {
	req := Request{Cmd: cmd}
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return err
		}
		req.Args = b
	}
	c.conn.SetDeadline(time.Now().Add(10 * time.Minute))
	if err := json.NewEncoder(c.conn).Encode(req); err != nil {
		return fmt.Errorf("control: sending %s: %w", cmd, err)
	}
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("control: reading answer to %s: %w", cmd, err)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return fmt.Errorf("control: bad answer to %s: %w", cmd, err)
	}
	if resp.Error != "" {
		return errors.New(resp.Error)
	}
	if out != nil && resp.Result != nil {
		return json.Unmarshal(resp.Result, out)
	}
	return nil
}
