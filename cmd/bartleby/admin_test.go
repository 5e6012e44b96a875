package main

import (
	"io"
	"os"
	"strings"
	"testing"
)

func TestReadPasswordFromPipe(t *testing.T) {
	for in, want := range map[string]string{
		"s3cret\n":                 "s3cret",
		"s3cret\r\n":               "s3cret",
		"no newline":               "no newline",
		"first\nsecond\n":          "first",
		" spaces kept \n":          " spaces kept ",
		strings.Repeat("x", 72):    strings.Repeat("x", 72),
		"":                         "",
		"\n":                       "",
		strings.Repeat("x", 73):    "",
		strings.Repeat("x", 10000): "",
	} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() { io.WriteString(w, in); w.Close() }()
		got, err := readPassword(r, io.Discard)
		r.Close()
		if want == "" {
			if err == nil {
				t.Errorf("%.20q: accepted %.20q", in, got)
			}
			continue
		}
		if err != nil || string(got) != want {
			t.Errorf("%.20q: got %q, %v; want %q", in, got, err, want)
		}
	}
}
