package message

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"

	gomessage "github.com/emersion/go-message"
)

// leaves decodes every leaf part of msg the way a mail reader does.
func leaves(t *testing.T, msg []byte) []string {
	t.Helper()
	e, err := gomessage.Read(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("reading %q: %v", clip(string(msg)), err)
	}
	var out []string
	err = e.Walk(func(_ []int, part *gomessage.Entity, err error) error {
		if err != nil {
			return err
		}
		if part.MultipartReader() == nil {
			b, err := io.ReadAll(part.Body)
			if err != nil {
				return err
			}
			out = append(out, string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func checkClean(t *testing.T, msg []byte) {
	t.Helper()
	if hasLongLine(msg) {
		t.Fatalf("a line is still over 998 octets:\n%s", clip(string(msg)))
	}
}

func TestFixLongLinesPlain(t *testing.T) {
	long := strings.Repeat("0123456789 ", 454) + "end" // 5000 octets
	text := "first line\r\n" + long + "\r\nlast line =3D not encoded\r\n"
	msg := []byte("From: cron@example.org\r\nSubject: report\r\n\r\n" + text)
	fixed := FixLongLines(msg)
	checkClean(t, fixed)
	s := string(fixed)
	for _, want := range []string{"MIME-Version: 1.0\r\n", "Content-Transfer-Encoding: quoted-printable\r\n", "Subject: report\r\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("lacks %q:\n%s", want, clip(s))
		}
	}
	if got := leaves(t, fixed); len(got) != 1 || got[0] != text {
		t.Errorf("decodes to %q", got)
	}
	short := []byte("Subject: x\r\n\r\nshort\r\n")
	if got := FixLongLines(short); !bytes.Equal(got, short) {
		t.Errorf("a clean message changed: %q", got)
	}
}

// TestFixLongLinesMultipart: only the leaf with the long line is
// re-encoded; the others, the delimiters and the preamble stay as they were.
func TestFixLongLinesMultipart(t *testing.T) {
	long := strings.Repeat("é", 2500) // 5000 octets of UTF-8
	other := "SGVsbG8sIHdvcmxkIQ==\r\n"
	msg := "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"This is a multi-part message.\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + long + "\r\n" +
		"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" + other +
		"--b1\r\nContent-Type: text/plain\r\n\r\nuntouched\r\n--b1--\r\n"
	fixed := FixLongLines([]byte(msg))
	checkClean(t, fixed)
	s := string(fixed)
	if strings.Count(s, "Content-Transfer-Encoding: quoted-printable") != 1 || !strings.Contains(s, "This is a multi-part message.\r\n--b1\r\n") ||
		!strings.Contains(s, other+"--b1\r\nContent-Type: text/plain\r\n\r\nuntouched\r\n--b1--\r\n") {
		t.Errorf("fixed more than the long part:\n%s", clip(s))
	}
	got := leaves(t, fixed)
	if len(got) != 3 || got[0] != long || got[1] != "Hello, world!" || got[2] != "untouched" {
		t.Errorf("decodes to %q", got)
	}
}

func TestFixLongLinesHeaderAndBase64(t *testing.T) {
	to := "To: " + strings.Repeat("someone@example.org, ", 60) + "last@example.org\r\n"
	b64 := strings.Repeat("QUJD", 400) + "\r\n"
	msg := []byte(to + "Content-Transfer-Encoding: base64\r\n\r\n" + b64)
	fixed := FixLongLines(msg)
	checkClean(t, fixed)
	h, err := ReadHeader(bufioReader(fixed))
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Values("To")[0]; strings.ReplaceAll(got, " ", "") != strings.ReplaceAll(strings.TrimPrefix(strings.TrimSpace(to), "To: "), " ", "") {
		t.Errorf("To changed: %q", got)
	}
	if got := leaves(t, fixed); len(got) != 1 || got[0] != strings.Repeat("ABC", 400) {
		t.Errorf("base64 decodes to %q", clip(got[0]))
	}
}

func FuzzFixLongLines(f *testing.F) {
	f.Add("Subject: x\r\n\r\n"+strings.Repeat("y", 1200)+"\r\n", "b")
	f.Add("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"+strings.Repeat("z", 1100)+"\r\n--b--\r\n", "b")
	f.Fuzz(func(t *testing.T, msg, _ string) {
		b, err := io.ReadAll(NormalizeLong(strings.NewReader(msg)))
		if err != nil {
			return
		}
		if fixed := FixLongLines(b); hasLongLine(fixed) {
			t.Fatalf("still long: %q", fixed)
		}
	})
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
