package spoolfile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

const testMagic = "TEST-SPOOL 1\n"

type testEnv struct {
	From  string   `json:"from"`
	Rcpts []string `json:"rcpts"`
}

func roundTrip(t testing.TB, env testEnv, body string) {
	var b bytes.Buffer
	n, err := WriteHeader(&b, testMagic, env)
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString(body)
	var got testEnv
	br := bufio.NewReaderSize(&b, 16) // smaller than any envelope: chunked reads
	off, err := ReadHeader(br, testMagic, &got)
	if err != nil {
		t.Fatalf("ReadHeader: %v", err)
	}
	rest, _ := io.ReadAll(br)
	if off != n || !reflect.DeepEqual(got, env) || string(rest) != body {
		t.Fatalf("round trip: %d/%d %+v %q, want %+v %q", off, n, got, rest, env, body)
	}
}

// TestLargeEnvelope: 1000 recipients make an envelope far over a 4 KiB
// buffer, which the maildrop's own reader used to refuse.
func TestLargeEnvelope(t *testing.T) {
	env := testEnv{From: "root@example.org"}
	for i := range 1000 {
		env.Rcpts = append(env.Rcpts, fmt.Sprintf("user%04d@example.net", i))
	}
	roundTrip(t, env, "Subject: x\r\n\r\nbody\r\n")
}

func TestReadHeaderRefuses(t *testing.T) {
	huge := testMagic + `{"from":"` + strings.Repeat("a", MaxEnvelope) + `"}` + "\n"
	for name, in := range map[string]string{
		"no magic":   "BARTLEBY-OTHER 1\n{}\n",
		"truncated":  testMagic + `{"from":"a"`,
		"bad json":   testMagic + "{not json}\n",
		"two values": testMagic + "{} {}\n",
		"too long":   huge,
	} {
		var env testEnv
		if _, err := ReadHeader(bufio.NewReader(strings.NewReader(in)), testMagic, &env); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add("root@example.org", "ops\nsecond", "Subject: x\r\n\r\nhi\r\n")
	f.Add("", "", "")
	f.Add("a\"b\\\n\x00", "\u2028", "\n\n{}\n")
	f.Fuzz(func(t *testing.T, from, rcpts, body string) {
		env := testEnv{From: strings.ToValidUTF8(from, "?"), Rcpts: strings.Split(strings.ToValidUTF8(rcpts, "?"), "\n")}
		roundTrip(t, env, body)
	})
}

// FuzzReadHeader: any input either fails or yields a header no longer
// than the input, and never panics.
func FuzzReadHeader(f *testing.F) {
	f.Add([]byte(testMagic + `{"from":"a","rcpts":["b"]}` + "\nbody"))
	f.Add([]byte(testMagic + "\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var env testEnv
		n, err := ReadHeader(bufio.NewReaderSize(bytes.NewReader(in), 16), testMagic, &env)
		if err == nil && (n > int64(len(in)) || n < int64(len(testMagic))) {
			t.Fatalf("header length %d for %d bytes", n, len(in))
		}
	})
}
