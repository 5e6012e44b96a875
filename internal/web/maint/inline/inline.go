// Package inline turns an HTML page with local stylesheets, scripts,
// images and fonts into one self-contained file: stylesheets become <style>
// elements, scripts inline <script>s, everything else data: URIs. It is how
// an operator makes a maintenance page that needs no other request (the
// site behind it is down, and the page must not leak visitors elsewhere).
//
// It never touches the network: a remote reference is an error listing every
// one of them. Local files are read through an os.Root on the page's
// directory, so no reference ("..", absolute path, symlink) reaches outside.
package inline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Limits: a page larger than these is surely a mistake.
const (
	maxFile      = 16 << 20 // one page or resource
	maxTotal     = 64 << 20 // everything read
	maxResources = 1000
	maxDepth     = 8 // CSS @import nesting

	// WarnSize is the size above which the result deserves a second look:
	// it is sent with every 503.
	WarnSize = 512 << 10
)

// Resource is one file that was inlined.
type Resource struct {
	Ref   string // as written in the page or stylesheet
	File  string // relative to the page's directory
	Type  string // MIME type
	Bytes int    // size of the file
}

// Result is an inlined page.
type Result struct {
	HTML      []byte
	Resources []Resource
}

// RemoteError lists the remote references that cannot be inlined.
type RemoteError struct {
	URLs []string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("the page refers to %d remote URL(s); download them next to the page and refer to them by relative path:\n  %s",
		len(e.URLs), strings.Join(e.URLs, "\n  "))
}

// File inlines the page at name.
func File(name string) (*Result, error) {
	root, err := os.OpenRoot(filepath.Dir(name))
	if err != nil {
		return nil, err
	}
	defer root.Close()
	src, err := readFile(root, filepath.Base(name))
	if err != nil {
		return nil, err
	}
	return Page(root.FS(), src)
}

// readFile reads a file from root with the size limit.
func readFile(root *os.Root, name string) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, name)
}

func readLimited(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, maxFile)
	}
	return b, nil
}

// Page inlines the HTML src, whose relative references are files of dir.
func Page(dir fs.FS, src []byte) (*Result, error) {
	doc, err := html.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("parsing the page: %w", err)
	}
	in := &inliner{dir: dir, remote: map[string]bool{}, cache: map[string]cached{}}
	in.node(doc)
	if err := in.err(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := html.Render(&buf, doc); err != nil {
		return nil, err
	}
	return &Result{HTML: buf.Bytes(), Resources: in.done}, nil
}

// inliner walks one page, collecting every problem rather than stopping at
// the first, so the operator fixes them all in one go.
type inliner struct {
	dir      fs.FS
	done     []Resource
	total    int
	remote   map[string]bool
	problems []string
	cache    map[string]cached // by file: each is read and reported once
}

type cached struct {
	b   []byte
	typ string
}

func (in *inliner) err() error {
	if len(in.remote) > 0 {
		urls := make([]string, 0, len(in.remote))
		for u := range in.remote {
			urls = append(urls, u)
		}
		sort.Strings(urls)
		return &RemoteError{URLs: urls}
	}
	if len(in.problems) > 0 {
		return errors.New(strings.Join(in.problems, "\n"))
	}
	return nil
}

func (in *inliner) problemf(format string, args ...any) {
	in.problems = append(in.problems, fmt.Sprintf(format, args...))
}

// node rewrites n and its children.
func (in *inliner) node(n *html.Node) {
	if n.Type == html.ElementNode {
		in.element(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		in.node(c)
	}
}

// element rewrites one element's references.
func (in *inliner) element(n *html.Node) {
	if i := attrIndex(n, "style"); i >= 0 {
		n.Attr[i].Val = in.css(n.Attr[i].Val, ".", 0)
	}
	switch n.DataAtom {
	case atom.Style:
		if c := n.FirstChild; c != nil && c.Type == html.TextNode {
			c.Data = in.css(c.Data, ".", 0)
		}
	case atom.Link:
		in.link(n)
	case atom.Script:
		in.script(n)
	case atom.Base:
		in.problemf("<base href> changes what every relative reference means; remove it")
	case atom.A, atom.Area, atom.Form:
		// Navigation, not a request the page makes by itself.
	default:
		in.attrs(n)
	}
}

// resourceAttrs are the attributes holding one URL a browser fetches.
var resourceAttrs = []string{"src", "href", "poster", "data", "background", "xlink:href"}

// attrs rewrites the URL attributes of an ordinary element.
func (in *inliner) attrs(n *html.Node) {
	for i := range n.Attr {
		a := &n.Attr[i]
		key := a.Key
		if a.Namespace != "" {
			key = a.Namespace + ":" + a.Key
		}
		switch {
		case key == "srcset" || key == "imagesrcset":
			a.Val = in.srcset(a.Val)
		case contains(resourceAttrs, key):
			a.Val = in.dataURI(a.Val, ".", "")
		}
	}
}

// link handles <link>: stylesheets become <style>, icons and preloads
// data: URIs, and remote references that make no request (canonical,
// alternate…) are left alone.
func (in *inliner) link(n *html.Node) {
	i := attrIndex(n, "href")
	if i < 0 {
		return
	}
	rel := strings.Fields(strings.ToLower(attr(n, "rel")))
	switch {
	case contains(rel, "stylesheet"):
		in.stylesheet(n, n.Attr[i].Val)
	case hasAny(rel, "canonical", "alternate", "author", "license", "help", "next", "prev", "me", "search"):
	default:
		n.Attr[i].Val = in.dataURI(n.Attr[i].Val, ".", "")
	}
}

// stylesheet replaces <link rel=stylesheet> by a <style> with its content.
func (in *inliner) stylesheet(n *html.Node, ref string) {
	file, ok := in.local(ref, ".")
	if !ok {
		return
	}
	b, _, ok := in.read(ref, file, "text/css")
	if !ok {
		return
	}
	css := in.css(string(b), path.Dir(file), 1)
	n.DataAtom, n.Data = atom.Style, "style"
	var keep []html.Attribute
	for _, a := range n.Attr {
		if a.Key == "media" || a.Key == "nonce" || a.Key == "title" {
			keep = append(keep, a)
		}
	}
	n.Attr = keep
	n.AppendChild(&html.Node{Type: html.TextNode, Data: css})
}

// script inlines <script src>.
func (in *inliner) script(n *html.Node) {
	i := attrIndex(n, "src")
	if i < 0 {
		return
	}
	ref := n.Attr[i].Val
	file, ok := in.local(ref, ".")
	if !ok {
		return
	}
	b, _, ok := in.read(ref, file, "text/javascript")
	if !ok {
		return
	}
	if bytes.Contains(bytes.ToLower(b), []byte("</script")) {
		in.problemf("%s contains </script and cannot be inlined as is", ref)
		return
	}
	n.Attr = append(n.Attr[:i], n.Attr[i+1:]...)
	for c := n.FirstChild; c != nil; c = n.FirstChild {
		n.RemoveChild(c)
	}
	n.AppendChild(&html.Node{Type: html.TextNode, Data: string(b)})
}

// srcset rewrites "a.png 1x, b.png 2x".
func (in *inliner) srcset(v string) string {
	var out []string
	for cand := range strings.SplitSeq(v, ",") {
		f := strings.Fields(cand)
		if len(f) == 0 {
			continue
		}
		f[0] = in.dataURI(f[0], ".", "")
		out = append(out, strings.Join(f, " "))
	}
	return strings.Join(out, ", ")
}

// dataURI returns ref as a data: URI, or unchanged when it needs no
// inlining (empty, a fragment, already data:) or cannot be inlined (the
// problem is recorded). want forces a MIME type.
func (in *inliner) dataURI(ref, base, want string) string {
	file, ok := in.local(ref, base)
	if !ok {
		return ref
	}
	b, typ, ok := in.read(ref, file, want)
	if !ok {
		return ref
	}
	if typ == "text/css" {
		b = []byte(in.css(string(b), path.Dir(file), 1))
	}
	return dataURL(typ, b) + fragment(ref)
}

// local resolves ref against base (a directory of the page's tree) and
// returns the file to read, or false when there is nothing to read: ref
// is empty, a fragment, data:, or remote (recorded), or escapes the tree.
func (in *inliner) local(ref, base string) (string, bool) {
	ref = strings.TrimSpace(ref)
	if ref == "" || strings.HasPrefix(ref, "#") {
		return "", false
	}
	u, err := url.Parse(ref)
	if err != nil {
		in.problemf("%q is not a valid URL: %v", ref, err)
		return "", false
	}
	switch {
	case u.Scheme == "data":
		return "", false
	case u.Scheme != "" || u.Host != "" || strings.HasPrefix(ref, "//"):
		if u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "" {
			in.remote[ref] = true
		} else if u.Scheme != "mailto" && u.Scheme != "tel" {
			in.problemf("%q: only local files can be inlined", ref)
		}
		return "", false
	}
	p := u.Path
	if strings.HasPrefix(p, "/") {
		p = path.Clean(p[1:]) // the page's directory is the root
	} else {
		p = path.Join(base, p)
	}
	if p == "." || p == ".." || strings.HasPrefix(p, "../") {
		in.problemf("%q is outside the page's directory", ref)
		return "", false
	}
	return p, true
}

// read reads file for ref and records it as a resource of MIME type want
// (or the type its name and content say), which it returns.
func (in *inliner) read(ref, file, want string) ([]byte, string, bool) {
	if c, ok := in.cache[file]; ok && (want == "" || want == c.typ) {
		return c.b, c.typ, true
	}
	if len(in.done) >= maxResources {
		in.problemf("more than %d resources", maxResources)
		return nil, "", false
	}
	f, err := in.dir.Open(file)
	if err != nil {
		in.problemf("%s: %v", ref, unwrapPath(err))
		return nil, "", false
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		in.problemf("%s is a directory", ref)
		return nil, "", false
	}
	b, err := readLimited(f, file)
	if err != nil {
		in.problemf("%v", err)
		return nil, "", false
	}
	in.total += len(b)
	if in.total > maxTotal {
		in.problemf("the resources add up to more than %d bytes", maxTotal)
		return nil, "", false
	}
	typ := want
	if typ == "" {
		typ = mimeType(file, b)
	}
	in.done = append(in.done, Resource{Ref: ref, File: file, Type: typ, Bytes: len(b)})
	in.cache[file] = cached{b, typ}
	return b, typ, true
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func fragment(ref string) string {
	if i := strings.IndexByte(ref, '#'); i >= 0 {
		return ref[i:]
	}
	return ""
}

func attrIndex(n *html.Node, key string) int {
	for i, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return i
		}
	}
	return -1
}

func attr(n *html.Node, key string) string {
	if i := attrIndex(n, key); i >= 0 {
		return n.Attr[i].Val
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasAny(list []string, want ...string) bool {
	for _, w := range want {
		if contains(list, w) {
			return true
		}
	}
	return false
}
