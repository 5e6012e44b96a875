package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// recorder remembers the status and size of a response for the access log
// and metrics. It passes ReadFrom through so static files still go out with
// sendfile, and Unwrap so streaming and WebSocket upgrades still work.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 && code >= 200 || code == http.StatusSwitchingProtocols {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	n, err := rec.ResponseWriter.Write(b)
	rec.bytes += int64(n)
	return n, err
}

// ReadFrom hands files to the server's ReadFrom (sendfile); anything else
// goes through Write, where the server's buffer joins it to the headers in
// one write instead of flushing them apart.
func (rec *recorder) ReadFrom(src io.Reader) (int64, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	var n int64
	var err error
	if isFile(src) {
		n, err = io.Copy(rec.ResponseWriter, src)
	} else {
		n, err = io.Copy(writerOnly{rec.ResponseWriter}, src)
	}
	rec.bytes += n
	return n, err
}

func isFile(r io.Reader) bool {
	if lr, ok := r.(*io.LimitedReader); ok {
		r = lr.R
	}
	_, ok := r.(*os.File)
	return ok
}

// writerOnly hides a ReadFrom method.
type writerOnly struct{ io.Writer }

func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// accessLog writes one line per request, in the combined format of Apache
// and nginx or as JSON.
type accessLog struct {
	mu   sync.Mutex
	w    io.Writer
	file *os.File // nil for stderr
	path string
	json bool
}

// openAccessLog opens dest ("stderr" or a file, appended to); nil for off.
func openAccessLog(dest, format string) (*accessLog, error) {
	l := &accessLog{json: format == "json"}
	switch dest {
	case "off", "":
		return nil, nil
	case "stderr":
		l.w = os.Stderr
	default:
		f, err := openLogFile(dest)
		if err != nil {
			return nil, err
		}
		l.w, l.file, l.path = f, f, dest
	}
	return l, nil
}

func openLogFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	return f, nil
}

// reopen opens the log file again by name, after logrotate moved it; on
// failure the old file stays in use.
func (l *accessLog) reopen() error {
	if l == nil || l.file == nil {
		return nil
	}
	f, err := openLogFile(l.path)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.file
	l.w, l.file = f, f
	l.mu.Unlock()
	return old.Close()
}

func (l *accessLog) Close() error {
	if l == nil || l.file == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.file.Close()
}

type jsonEntry struct {
	Time     string  `json:"time"`
	Client   string  `json:"client"`
	Host     string  `json:"host"`
	Method   string  `json:"method"`
	URI      string  `json:"uri"`
	Proto    string  `json:"proto"`
	Status   int     `json:"status"`
	Bytes    int64   `json:"bytes"`
	Duration float64 `json:"duration_ms"`
	Referer  string  `json:"referer,omitempty"`
	Agent    string  `json:"user_agent,omitempty"`
}

// lineBufs lends the buffers access log lines are made in.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// log writes the entry for one finished request.
func (l *accessLog) log(r *http.Request, client string, rec *recorder, start time.Time) {
	bp := lineBufs.Get().(*[]byte)
	line := (*bp)[:0]
	if l.json {
		b, _ := json.Marshal(jsonEntry{Time: start.UTC().Format(time.RFC3339Nano), Client: client, Host: r.Host,
			Method: r.Method, URI: r.RequestURI, Proto: r.Proto, Status: rec.status, Bytes: rec.bytes,
			Duration: float64(time.Since(start).Microseconds()) / 1000, Referer: r.Referer(), Agent: r.UserAgent()})
		line = append(append(line, b...), '\n')
	} else {
		line = append(append(line, client...), " - - ["...)
		line = start.AppendFormat(line, "02/Jan/2006:15:04:05 -0700")
		line = fmt.Appendf(line, "] \"%s %s %s\" %d %d \"%s\" \"%s\"\n", esc(r.Method), esc(r.RequestURI), esc(r.Proto),
			rec.status, rec.bytes, esc(r.Referer()), esc(r.UserAgent()))
	}
	l.mu.Lock()
	l.w.Write(line)
	l.mu.Unlock()
	if cap(line) <= 16<<10 { // a huge line's buffer is not kept
		*bp = line
		lineBufs.Put(bp)
	}
}

// esc keeps a client-chosen field on its line and inside its quotes.
func esc(s string) string {
	if s == "" {
		return "-"
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r == utf8.RuneError && size == 1:
			const hex = "0123456789abcdef"
			b.WriteString(`\x`)
			b.WriteByte(hex[s[i]>>4])
			b.WriteByte(hex[s[i]&15])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
