package scenario

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// parsed returns the page's HTML tree, parsing it once.
func (p *page) parsed() *html.Node {
	if p.doc == nil {
		doc, err := html.Parse(bytes.NewReader(p.body))
		if err != nil { // html.Parse fails only on reader errors
			doc = &html.Node{Type: html.DocumentNode}
		}
		p.doc = doc
	}
	return p.doc
}

// visibleText is the page's text as a reader sees it: no scripts, styles or
// tags, whitespace collapsed. A non-HTML page is its body.
func (p *page) visibleText() string {
	if p.text != "" {
		return p.text
	}
	if ct := p.header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "html") {
		p.text = strings.Join(strings.Fields(string(p.body)), " ")
		return p.text
	}
	// A tokenizer, not the tree: "I should see" is the most common step
	// and this is several times cheaper than html.Parse.
	var b strings.Builder
	z := html.NewTokenizer(bytes.NewReader(p.body))
	skip := atom.Atom(0)
	for {
		switch z.Next() {
		case html.ErrorToken:
			p.text = strings.Join(strings.Fields(b.String()), " ")
			return p.text
		case html.StartTagToken:
			name, _ := z.TagName()
			if a := atom.Lookup(name); a == atom.Script || a == atom.Style || a == atom.Template {
				skip = a
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if atom.Lookup(name) == skip {
				skip = 0
			}
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
				b.WriteByte(' ')
			}
		}
	}
}

// excerpt is the page text around want, or around its longest findable
// prefix, or the page's start: what the operator needs to see why a step
// failed.
func (p *page) excerpt(want string) string {
	text := p.visibleText()
	at := -1
	for n := len(want); n >= 3 && at < 0; n = n * 2 / 3 {
		at = strings.Index(text, want[:n])
	}
	if at < 0 {
		at = 0
	}
	from, to := max(0, at-150), min(len(text), at+len(want)+150)
	for from > 0 && !utf8Start(text[from]) {
		from--
	}
	for to < len(text) && !utf8Start(text[to]) {
		to++
	}
	out := text[from:to]
	if from > 0 {
		out = "…" + out
	}
	if to < len(text) {
		out += "…"
	}
	return out
}

func utf8Start(b byte) bool { return b&0xc0 != 0x80 }

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// nodeText is an element's text with image alt texts, collapsed.
func nodeText(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		if n.Type == html.ElementNode && n.DataAtom == atom.Img {
			b.WriteString(" " + attr(n, "alt") + " ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// all lists the elements under n that keep says to.
func all(n *html.Node, keep func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && keep(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

// findLink finds a link by its text, title, id or aria-label, exactly, then
// by a part of its text.
func (p *page) findLink(name string) (*url.URL, error) {
	links := all(p.parsed(), func(n *html.Node) bool { return n.DataAtom == atom.A && hasAttr(n, "href") })
	var found *html.Node
	for _, l := range links {
		if nodeText(l) == name || attr(l, "title") == name || attr(l, "id") == name || attr(l, "aria-label") == name {
			found = l
			break
		}
	}
	if found == nil {
		for _, l := range links {
			if name != "" && strings.Contains(nodeText(l), name) {
				found = l
				break
			}
		}
	}
	if found == nil {
		return nil, excerptError{fmt.Sprintf("no link %q on %s (%d links: %s)", name, p.url.Redacted(), len(links), linkNames(links)), p.excerpt(name)}
	}
	u, err := url.Parse(strings.TrimSpace(attr(found, "href")))
	if err != nil {
		return nil, fmt.Errorf("link %q has a bad href: %v", name, err)
	}
	return u, nil
}

// linkNames lists a few link texts for the failure message.
func linkNames(links []*html.Node) string {
	var names []string
	for _, l := range links[:min(len(links), 8)] {
		names = append(names, fmt.Sprintf("%q", nodeText(l)))
	}
	if len(links) > 8 {
		names = append(names, "…")
	}
	return strings.Join(names, ", ")
}
