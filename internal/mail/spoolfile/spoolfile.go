// Package spoolfile is the on-disk format shared by the queue and the
// maildrop: a magic line naming the kind of file and its version, the
// envelope as one line of JSON, then the message as it is.
//
// Readers bound the envelope line (MaxEnvelope) but not its share of a
// bufio buffer: an envelope longer than the buffer (a few hundred
// recipients) is read in chunks, never refused for it.
package spoolfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxEnvelope bounds the envelope line: 10 000 recipients fit.
const MaxEnvelope = 4 << 20

// ErrNotSpoolFile is a file that does not start with the expected magic line.
var ErrNotSpoolFile = errors.New("not a bartleby spool file")

// WriteHeader writes the magic line and env as one line of JSON, and
// returns the number of bytes written. magic ends with "\n".
func WriteHeader(w io.Writer, magic string, env any) (int64, error) {
	js, err := json.Marshal(env)
	if err != nil {
		return 0, fmt.Errorf("envelope: %w", err)
	}
	if len(js) > MaxEnvelope {
		return 0, fmt.Errorf("envelope: %d bytes, more than the limit of %d", len(js), MaxEnvelope)
	}
	// json.Marshal escapes every control character: js holds no newline.
	buf := make([]byte, 0, len(magic)+len(js)+1)
	buf = append(append(append(buf, magic...), js...), '\n')
	n, err := w.Write(buf)
	return int64(n), err
}

// ReadHeader reads the magic line and the envelope into env, leaving r at
// the first byte of the message, and returns the header's length in bytes.
func ReadHeader(r *bufio.Reader, magic string, env any) (int64, error) {
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(r, head); err != nil || string(head) != magic {
		return 0, ErrNotSpoolFile
	}
	line, err := readLine(r, MaxEnvelope)
	if err != nil {
		return 0, fmt.Errorf("envelope: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(env); err != nil {
		return 0, fmt.Errorf("envelope: %w", err)
	}
	if dec.More() {
		return 0, errors.New("envelope: data after the JSON value")
	}
	return int64(len(magic) + len(line) + 1), nil
}

// readLine reads up to '\n' (not returned), failing past limit bytes.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var out []byte
	for {
		chunk, err := r.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > limit+1 {
			return nil, fmt.Errorf("line longer than %d bytes", limit)
		}
		switch {
		case err == nil:
			return out[:len(out)-1], nil
		case err == io.EOF:
			return nil, errors.New("truncated: no end of line")
		case err != bufio.ErrBufferFull:
			return nil, err
		}
	}
}
