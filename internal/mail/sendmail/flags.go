// Package sendmail is the classic `sendmail` command line: read a message
// on stdin and hand it to the relay, through the loopback submission
// listener when the daemon runs and through the maildrop when it does not.
package sendmail

import (
	"fmt"
	"strings"
)

// Mode is what the command line asks for.
type Mode int

// Modes.
const (
	Deliver    Mode = iota // the default: send the message on stdin
	SMTP                   // -bs: SMTP on stdin/stdout
	List                   // -bp, mailq: list the queue
	Flush                  // -q: attempt the queue now
	Newaliases             // -bi, newaliases: check the aliases file, have the daemon re-read it
)

// Options are the parsed flags.
type Options struct {
	Mode       Mode
	FromHeader bool     // -t: recipients from To/Cc/Bcc
	IgnoreDots bool     // -i, -oi: a lone "." does not end the message
	Sender     string   // -f, -r
	FullName   string   // -F
	Verbose    bool     // -v
	Rcpts      []string // operands
	Ignored    []string // flags accepted and ignored, for -v
}

// Parse reads sendmail's flags as Postfix does: single-letter flags may
// take their value attached ("-fuser") or as the next argument; -o… and
// other compatibility flags are accepted and ignored.
func Parse(args []string) (*Options, error) {
	o := &Options{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			o.Rcpts = append(o.Rcpts, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			o.Rcpts = append(o.Rcpts, a)
			continue
		}
		value := func() (string, error) {
			if len(a) > 2 {
				return a[2:], nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("option %s needs a value", a)
			}
			i++
			return args[i], nil
		}
		var err error
		switch a[1] {
		case 't':
			err = o.bools(a, &o.FromHeader)
		case 'i':
			err = o.bools(a, &o.IgnoreDots)
		case 'v':
			err = o.bools(a, &o.Verbose)
		case 'f', 'r':
			o.Sender, err = value()
		case 'F':
			o.FullName, err = value()
		case 'o':
			if a == "-oi" {
				o.IgnoreDots = true
			} else {
				o.Ignored = append(o.Ignored, a)
			}
		case 'b':
			err = o.mode(a)
		case 'q':
			o.Mode = Flush // -q, -q30m: attempt the queue now
		case 'B', 'N', 'R', 'V', 'X', 'C', 'L', 'O', 'h':
			var v string
			v, err = value()
			o.Ignored = append(o.Ignored, a+" "+v)
		case 'm', 'n', 'U', 'G', 'A', 'd', 'x', 'e':
			o.Ignored = append(o.Ignored, a)
		default:
			err = fmt.Errorf("unknown option %s", a)
		}
		if err != nil {
			return nil, err
		}
	}
	return o, nil
}

// bools sets a flag that may be repeated in one argument ("-ti" is not a
// thing in sendmail, but "-t" and "-i" are).
func (o *Options) bools(a string, p *bool) error {
	if len(a) != 2 {
		return fmt.Errorf("unknown option %s", a)
	}
	*p = true
	return nil
}

func (o *Options) mode(a string) error {
	switch a {
	case "-bm":
		o.Mode = Deliver
	case "-bs":
		o.Mode = SMTP
	case "-bp":
		o.Mode = List
	case "-bi":
		o.Mode = Newaliases
	case "-bd", "-bD", "-bl", "-bv", "-bt", "-bh", "-bH":
		return fmt.Errorf("%s is not supported: bartleby runs as `bartleby serve` and has no address test mode", a)
	default:
		return fmt.Errorf("unknown option %s", a)
	}
	return nil
}
