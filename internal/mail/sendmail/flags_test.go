package sendmail

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args string
		want Options
	}{
		{"-t -i", Options{FromHeader: true, IgnoreDots: true}},
		{"-oi -f root -F Cron_Daemon a b", Options{IgnoreDots: true, Sender: "root", FullName: "Cron_Daemon", Rcpts: []string{"a", "b"}}},
		{"-fbackup@example.org -oem -odi x", Options{Sender: "backup@example.org", Rcpts: []string{"x"}, Ignored: []string{"-oem", "-odi"}}},
		{"-bs", Options{Mode: SMTP}},
		{"-bp", Options{Mode: List}},
		{"-q30m", Options{Mode: Flush}},
		{"-v -- -notaflag", Options{Verbose: true, Rcpts: []string{"-notaflag"}}},
		{"-B 8BITMIME -N never y", Options{Rcpts: []string{"y"}, Ignored: []string{"-B 8BITMIME", "-N never"}}},
	} {
		got, err := Parse(strings.Fields(tc.args))
		if err != nil || !reflect.DeepEqual(*got, tc.want) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.args, got, err, tc.want)
		}
	}
	for _, bad := range []string{"-f", "-Z", "-bd", "-tx", "-bz"} {
		if _, err := Parse(strings.Fields(bad)); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("-t\x00-i\x00-f\x00root")
	f.Add("-bs")
	f.Add("--\x00-x")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := Parse(strings.Split(s, "\x00"))
		if err == nil && o.Mode > Flush {
			t.Fatalf("mode %d", o.Mode)
		}
	})
}
