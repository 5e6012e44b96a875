package scenario

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// form is a form of the current page with the values the steps set.
type form struct {
	node   *html.Node
	fields []*field
}

// field is one control: input, select or textarea.
type field struct {
	node    *html.Node
	name    string
	typ     string // input type, "select" or "textarea"
	value   string
	checked bool
	options []option // select only
	labels  []string
}

type option struct{ value, text string }

// pageForms lists the page's forms with their initial values, once.
func (p *page) pageForms() []*form {
	if p.forms != nil {
		return p.forms
	}
	doc := p.parsed()
	labels := labelTexts(doc)
	p.forms = []*form{}
	for _, fn := range all(doc, func(n *html.Node) bool { return n.DataAtom == atom.Form }) {
		f := &form{node: fn}
		for _, c := range all(fn, isControl) {
			f.fields = append(f.fields, newField(c, labels))
		}
		p.forms = append(p.forms, f)
	}
	return p.forms
}

func isControl(n *html.Node) bool {
	return n.DataAtom == atom.Input || n.DataAtom == atom.Select || n.DataAtom == atom.Textarea || n.DataAtom == atom.Button
}

// labelTexts maps each control to the texts of its labels (for= or
// wrapping).
func labelTexts(doc *html.Node) map[*html.Node][]string {
	byID := map[string]*html.Node{}
	for _, c := range all(doc, isControl) {
		if id := attr(c, "id"); id != "" {
			byID[id] = c
		}
	}
	out := map[*html.Node][]string{}
	for _, l := range all(doc, func(n *html.Node) bool { return n.DataAtom == atom.Label }) {
		text := strings.TrimSuffix(strings.TrimSpace(nodeText(l)), ":")
		if c := byID[attr(l, "for")]; c != nil {
			out[c] = append(out[c], text)
		}
		for _, c := range all(l, isControl) {
			out[c] = append(out[c], text)
		}
	}
	return out
}

func newField(n *html.Node, labels map[*html.Node][]string) *field {
	f := &field{node: n, name: attr(n, "name"), labels: labels[n]}
	switch n.DataAtom {
	case atom.Select:
		f.typ = "select"
		for _, o := range all(n, func(c *html.Node) bool { return c.DataAtom == atom.Option }) {
			opt := option{value: attr(o, "value"), text: nodeText(o)}
			if !hasAttr(o, "value") {
				opt.value = opt.text
			}
			f.options = append(f.options, opt)
			if hasAttr(o, "selected") || len(f.options) == 1 {
				f.value = opt.value
			}
		}
	case atom.Textarea:
		f.typ, f.value = "textarea", nodeText(n)
	case atom.Button:
		f.typ, f.value = strings.ToLower(attr(n, "type")), attr(n, "value")
		if f.typ == "" {
			f.typ = "submit"
		}
	default:
		f.typ = strings.ToLower(attr(n, "type"))
		if f.typ == "" {
			f.typ = "text"
		}
		f.value, f.checked = attr(n, "value"), hasAttr(n, "checked")
		if (f.typ == "checkbox" || f.typ == "radio") && !hasAttr(n, "value") {
			f.value = "on"
		}
	}
	return f
}

func (f *field) isButton() bool {
	return f.typ == "submit" || f.typ == "image" || f.typ == "button" || f.typ == "reset"
}

// names are what a step may call the field by.
func (f *field) names() []string {
	names := append([]string{f.name, attr(f.node, "id"), attr(f.node, "placeholder"), attr(f.node, "aria-label")}, f.labels...)
	if f.isButton() {
		names = append(names, attr(f.node, "value"), nodeText(f.node))
	}
	return names
}

// findField finds a control by name, id, label (or a button's text) on the
// page, preferring the form being filled.
func (s *session) findField(name string, want func(*field) bool) (*form, *field, error) {
	p, err := s.current()
	if err != nil {
		return nil, nil, err
	}
	forms := p.pageForms()
	if s.form != nil {
		forms = append([]*form{s.form}, forms...)
	}
	for _, fm := range forms {
		for _, f := range fm.fields {
			if !want(f) || hasAttr(f.node, "disabled") {
				continue
			}
			for _, n := range f.names() {
				if n != "" && strings.EqualFold(n, name) {
					return fm, f, nil
				}
			}
		}
	}
	return nil, nil, excerptError{fmt.Sprintf("no field %q in the %d forms of %s", name, len(p.pageForms()), p.url.Redacted()), p.excerpt(name)}
}

func (s *session) fill(a args) error {
	fm, f, err := s.findField(a["field"], func(f *field) bool {
		return f.typ != "select" && f.typ != "checkbox" && f.typ != "radio" && !f.isButton() && f.typ != "file"
	})
	if err != nil {
		return err
	}
	f.value, s.form = a["value"], fm
	return nil
}

func (s *session) selectOption(a args) error {
	fm, f, err := s.findField(a["field"], func(f *field) bool { return f.typ == "select" })
	if err != nil {
		return err
	}
	for _, o := range f.options {
		if o.text == a["option"] || o.value == a["option"] {
			f.value, s.form = o.value, fm
			return nil
		}
	}
	var texts []string
	for _, o := range f.options {
		texts = append(texts, fmt.Sprintf("%q", o.text))
	}
	return fmt.Errorf("no option %q in %q (options: %s)", a["option"], a["field"], strings.Join(texts, ", "))
}

func (s *session) check(a args) error {
	fm, f, err := s.findField(a["box"], func(f *field) bool { return f.typ == "checkbox" || f.typ == "radio" })
	if err != nil {
		return err
	}
	if f.typ == "radio" {
		for _, o := range fm.fields {
			if o.typ == "radio" && o.name == f.name {
				o.checked = false
			}
		}
	}
	f.checked, s.form = a["un"] == "", fm
	return nil
}

func (s *session) submitNamed(a args) error {
	p, err := s.current()
	if err != nil {
		return err
	}
	for _, fm := range p.pageForms() {
		if attr(fm.node, "name") == a["form"] || attr(fm.node, "id") == a["form"] {
			return s.submit(fm, nil)
		}
	}
	return fmt.Errorf("no form named %q on %s", a["form"], p.url.Redacted())
}

func (s *session) press(a args) error {
	fm, f, err := s.findField(a["button"], func(f *field) bool { return f.typ == "submit" || f.typ == "image" })
	if err != nil {
		return err
	}
	return s.submit(fm, f)
}

// submit sends a form as a browser would: its successful controls, the
// pressed button's name and value, GET in the query or POST urlencoded.
func (s *session) submit(fm *form, pressed *field) error {
	vals := url.Values{}
	for _, f := range fm.fields {
		if f.name == "" || hasAttr(f.node, "disabled") || f.typ == "file" {
			continue
		}
		switch {
		case f.isButton():
			if f == pressed {
				vals.Add(f.name, f.value)
			}
		case f.typ == "checkbox" || f.typ == "radio":
			if f.checked {
				vals.Add(f.name, f.value)
			}
		default:
			vals.Add(f.name, f.value)
		}
	}
	action, err := url.Parse(strings.TrimSpace(attr(fm.node, "action")))
	if err != nil {
		return fmt.Errorf("form has a bad action: %v", err)
	}
	target := s.page.url.ResolveReference(action)
	if target.Scheme != "http" && target.Scheme != "https" {
		return errors.New("form action is not http(s)")
	}
	var req *http.Request
	if strings.EqualFold(attr(fm.node, "method"), "post") {
		req, err = http.NewRequest(http.MethodPost, target.String(), strings.NewReader(vals.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		target.RawQuery = vals.Encode()
		req, err = http.NewRequest(http.MethodGet, target.String(), nil)
	}
	if err != nil {
		return err
	}
	return s.do(req)
}
