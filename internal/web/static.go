package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"

	"bartleby/internal/config"
)

// maxListing bounds a directory listing.
const maxListing = 5000

// static serves files below one directory. Every open goes through os.Root,
// so no path, symlink or "..", however encoded, reaches outside it.
type static struct {
	root         *os.Root
	index        []string
	browse       bool
	cacheControl []string // nil for none
	cache        fileCache
}

func newStatic(rc *config.Route) (*static, error) {
	root, err := os.OpenRoot(rc.Root)
	if err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	s := &static{root: root, index: rc.Index, browse: rc.Browse, cache: fileCache{m: map[string]*cached{}}}
	if rc.CacheControl != "" {
		s.cacheControl = []string{rc.CacheControl}
	}
	return s, nil
}

func (s *static) Close() error { return s.root.Close() }

// ServeHTTP serves r.URL.Path, which the site has already checked: it starts
// with "/", is clean and holds no ".." segment or NUL.
func (s *static) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if hidden(p) {
		http.NotFound(w, r)
		return
	}
	name := strings.TrimPrefix(p, "/")
	if name == "" {
		name = "."
	}
	c, dir, err := s.load(name)
	if err != nil {
		notFound(w, r, err)
		return
	}
	if dir {
		s.serveDir(w, r, name)
		return
	}
	defer c.Close()
	s.serveFile(w, r, name, c)
}

// content is a file ready to send: a small one from memory, a large one
// open (it then goes out with sendfile).
type content struct {
	info fs.FileInfo
	mem  *cached  // the file from memory, or
	file *os.File // the file open
}

func (c *content) Close() {
	if c.file != nil {
		c.file.Close()
	}
}

// reader is the content for http.ServeContent.
func (c *content) reader() io.ReadSeeker {
	if c.mem != nil {
		return bytes.NewReader(c.mem.data)
	}
	return c.file
}

// load finds name below the root: a directory (dir is true), or a regular
// file; anything else (a device, a socket) is treated as absent. Small
// files come from the cache while their stat says they are unchanged.
func (s *static) load(name string) (c *content, dir bool, err error) {
	st, err := s.root.Stat(name)
	switch {
	case err != nil:
		return nil, false, err
	case st.IsDir():
		return nil, true, nil
	case !st.Mode().IsRegular():
		return nil, false, fs.ErrNotExist
	}
	if e := s.cache.get(name, st); e != nil {
		return &content{info: st, mem: e}, false, nil
	}
	f, err := s.root.Open(name)
	if err != nil {
		return nil, false, err
	}
	fst, err := f.Stat()
	if err != nil || !fst.Mode().IsRegular() {
		f.Close()
		return nil, false, fs.ErrNotExist
	}
	if fst.Size() > maxCachedFile {
		return &content{info: fst, file: f}, false, nil
	}
	defer f.Close()
	data := make([]byte, fst.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, false, err
	}
	e, ok := newCached(name, fst, data)
	if ok {
		s.cache.put(name, e)
	}
	return &content{info: fst, mem: e}, false, nil
}

func (s *static) serveDir(w http.ResponseWriter, r *http.Request, name string) {
	if !strings.HasSuffix(r.URL.Path, "/") {
		// Relative links in the index need the slash; redirect to the
		// path the client sent (before strip_prefix).
		target := originalPath(r) + "/"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	}
	for _, ix := range s.index {
		if c, dir, err := s.load(path.Join(name, ix)); err == nil && !dir {
			defer c.Close()
			s.serveFile(w, r, path.Join(name, ix), c)
			return
		}
	}
	if !s.browse {
		http.NotFound(w, r)
		return
	}
	s.list(w, r, name)
}

// Header values shared by every response; never modified.
var (
	hdrNosniff      = []string{"nosniff"}
	hdrVary         = []string{"Accept-Encoding"}
	hdrAcceptRanges = []string{"bytes"}
)

// serveFile sends one file, or its precompressed .br or .gz sibling when
// the client takes it, with validators so conditional and Range requests
// are answered by http.ServeContent.
func (s *static) serveFile(w http.ResponseWriter, r *http.Request, name string, c *content) {
	h := w.Header()
	if c.mem != nil {
		h["Content-Type"] = c.mem.ctype
	} else {
		h.Set("Content-Type", contentType(name))
	}
	h["X-Content-Type-Options"] = hdrNosniff
	h["Vary"] = hdrVary
	if s.cacheControl != nil {
		h["Cache-Control"] = s.cacheControl
	}
	if enc, ext := acceptedEncoding(r); enc != "" {
		if cc, dir, err := s.load(name + ext); err == nil && !dir {
			defer cc.Close()
			c = cc
			h.Set("Content-Encoding", enc)
		}
	}
	if c.mem != nil && !conditional(r) {
		sendMem(w, r, c.mem)
		return
	}
	if c.mem != nil {
		h["Etag"] = c.mem.etag
	} else {
		h.Set("ETag", etag(c.info))
	}
	http.ServeContent(w, r, "", c.info.ModTime(), c.reader())
}

// conditional reports whether the request has a header that
// http.ServeContent acts on: a precondition or a Range.
func conditional(r *http.Request) bool {
	for _, k := range [...]string{"If-Match", "If-Unmodified-Since", "If-None-Match", "If-Modified-Since", "Range"} {
		if v := r.Header[k]; len(v) > 0 && v[0] != "" {
			return true
		}
	}
	return false
}

// sendMem answers an unconditional GET or HEAD for a file in memory with
// the headers http.ServeContent would send, made once when the file was
// read: serving a small file then costs no formatting and no copy buffer.
func sendMem(w http.ResponseWriter, r *http.Request, e *cached) {
	h := w.Header()
	h["Etag"] = e.etag
	if e.lastModified != nil {
		h["Last-Modified"] = e.lastModified
	}
	h["Accept-Ranges"] = hdrAcceptRanges
	if len(h["Content-Encoding"]) == 0 {
		h["Content-Length"] = e.length
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(e.data)
	}
}

// acceptedEncoding picks br, then gzip, when the request's Accept-Encoding
// allows it (q=0 refuses).
func acceptedEncoding(r *http.Request) (enc, ext string) {
	ae := r.Header.Get("Accept-Encoding")
	if ae == "" || r.Header.Get("Range") != "" {
		return "", ""
	}
	br, gz := false, false
	for _, part := range strings.Split(ae, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if q := strings.ReplaceAll(params, " ", ""); q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000" {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "br":
			br = true
		case "gzip":
			gz = true
		}
	}
	switch {
	case br:
		return "br", ".br"
	case gz:
		return "gzip", ".gz"
	}
	return "", ""
}

// extraTypes fills the gaps in Go's built-in table; /etc/mime.types, when
// present, is consulted after it.
var extraTypes = map[string]string{
	".txt": "text/plain; charset=utf-8", ".ico": "image/vnd.microsoft.icon",
	".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
	".mp4": "video/mp4", ".webm": "video/webm", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
	".csv": "text/csv; charset=utf-8", ".md": "text/markdown; charset=utf-8",
	".map": "application/json", ".xml": "text/xml; charset=utf-8", ".gz": "application/gzip",
	".zip": "application/zip", ".tar": "application/x-tar",
}

// contentType never sniffs: an unknown extension is octet-stream, so an
// uploaded file cannot become an HTML page.
func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := extraTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// hidden reports whether a path has a dotfile segment. /.well-known/ is
// public by definition (security.txt and friends).
func hidden(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg != "" && seg[0] == '.' && seg != ".well-known" {
			return true
		}
	}
	return false
}

func notFound(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, fs.ErrPermission) {
		http.Error(w, "403 forbidden", http.StatusForbidden)
		return
	}
	http.NotFound(w, r)
}

var listing = template.Must(template.New("list").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Index of {{.Path}}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:2em auto;max-width:50em;padding:0 1em;color:#222}
a{color:#0b57d0;text-decoration:none}a:hover{text-decoration:underline}td{padding:.1em 1em .1em 0}
.n{text-align:right;color:#666}</style></head><body>
<h1>Index of {{.Path}}</h1><table>
{{if ne .Path "/"}}<tr><td><a href="../">../</a></td></tr>{{end}}
{{range .Entries}}<tr><td><a href="{{.Href}}">{{.Name}}</a></td><td class="n">{{.Size}}</td><td class="n">{{.Mod}}</td></tr>
{{end}}</table>{{if .More}}<p>Only the first {{.Max}} entries are shown.</p>{{end}}</body></html>
`))

type entry struct{ Name, Href, Size, Mod string }

func (s *static) list(w http.ResponseWriter, r *http.Request, name string) {
	d, err := s.root.Open(name)
	if err != nil {
		notFound(w, r, err)
		return
	}
	defer d.Close()
	infos, _ := d.Readdir(maxListing + 1)
	more := len(infos) > maxListing
	if more {
		infos = infos[:maxListing]
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name() < infos[j].Name() })
	var es []entry
	for _, fi := range infos {
		if fi.Name()[0] == '.' {
			continue
		}
		e := entry{Name: fi.Name(), Href: "./" + url.PathEscape(fi.Name()), Mod: fi.ModTime().UTC().Format("2006-01-02 15:04")}
		if fi.IsDir() {
			e.Name += "/"
			e.Href += "/"
		} else {
			e.Size = fmt.Sprint(fi.Size())
		}
		es = append(es, e)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	listing.Execute(w, map[string]any{"Path": originalPath(r), "Entries": es, "More": more, "Max": maxListing})
}
