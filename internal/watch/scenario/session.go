package scenario

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/html"
)

// Limits of one scenario's browsing.
const (
	maxRedirects = 10
	maxPage      = 4 << 20 // bytes read of a page; the rest is dropped
)

// Options tune how scenarios run.
type Options struct {
	Base    *url.URL      // relative URLs resolve against it
	Timeout time.Duration // per step, default 30s
	RootCAs *x509.CertPool
	// UserAgent identifies the watcher in the site's logs.
	UserAgent string
}

// page is the last response a scenario got.
type page struct {
	url       *url.URL
	status    int
	header    http.Header
	body      []byte
	truncated bool
	tls       *tls.ConnectionState
	doc       *html.Node // parsed on first use
	forms     []*form
	text      string // visible text, extracted on first use
}

// session is one scenario run's browser: cookies, the current page, the
// form being filled, and the timings of the step in progress.
type session struct {
	ctx    context.Context
	opt    Options
	base   *url.URL
	client *http.Client
	tr     *http.Transport
	page   *page
	form   *form // the form the last fill/select/check touched
	last   *StepResult
	cur    *StepResult
	hops   int // redirects followed in the current step
}

func newSession(ctx context.Context, opt Options) *session {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: opt.Timeout, KeepAlive: -1}).DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: opt.RootCAs},
		TLSHandshakeTimeout:   opt.Timeout,
		ResponseHeaderTimeout: opt.Timeout,
		MaxIdleConnsPerHost:   2,
		DisableCompression:    false,
		ForceAttemptHTTP2:     true,
	}
	s := &session{ctx: ctx, opt: opt, base: opt.Base, tr: tr}
	s.client = &http.Client{Transport: tr, Jar: jar, CheckRedirect: s.checkRedirect}
	return s
}

func (s *session) close() { s.tr.CloseIdleConnections() }

func (s *session) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects (a loop?), last to %s", maxRedirects, req.URL.Redacted())
	}
	s.hops++
	return nil
}

// resolve makes a step's URL absolute against the current page or base.
func (s *session) resolve(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.IsAbs() {
		return u, nil
	}
	switch {
	case s.page != nil && !strings.HasPrefix(raw, "/") && s.base == nil:
		return s.page.url.ResolveReference(u), nil
	case s.base != nil:
		return s.base.ResolveReference(u), nil
	case s.page != nil:
		return s.page.url.ResolveReference(u), nil
	}
	return nil, fmt.Errorf("%q is relative and no base URL is set (set watch.base, --base or a step `the base URL is \"…\"`)", raw)
}

// do sends one request (and its redirects), timing every phase, and makes
// the response the current page.
func (s *session) do(req *http.Request) error {
	if s.opt.UserAgent != "" {
		req.Header.Set("User-Agent", s.opt.UserAgent)
	}
	var t phaseTimer
	req = req.WithContext(httptrace.WithClientTrace(s.ctx, t.trace()))
	resp, err := s.client.Do(req)
	if err != nil {
		s.cur.addPhases(t.done(time.Now()))
		return explainHTTP(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPage+1))
	s.cur.addPhases(t.done(time.Now()))
	s.cur.Requests++
	s.cur.Redirects = s.hops
	if err != nil {
		return fmt.Errorf("reading %s: %w", resp.Request.URL.Redacted(), explainHTTP(err))
	}
	p := &page{url: resp.Request.URL, status: resp.StatusCode, header: resp.Header, body: body, tls: resp.TLS}
	if len(body) > maxPage {
		p.body, p.truncated = body[:maxPage], true
	}
	s.page, s.form = p, nil
	return nil
}

// explainHTTP turns transport errors into what an operator reads in a
// failed step: the certificate problem, the timeout.
func explainHTTP(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &unknown):
		return fmt.Errorf("TLS: certificate signed by an unknown authority (%s)", unknown.Cert.Subject)
	case errors.As(err, &hostname):
		return fmt.Errorf("TLS: certificate is not valid for %s: %v", hostname.Host, hostname)
	case errors.As(err, &invalid):
		return fmt.Errorf("TLS: %v", invalid)
	case errors.As(err, &verify):
		return fmt.Errorf("TLS: %v", verify.Err)
	case errors.Is(err, context.DeadlineExceeded):
		return errors.New("timed out (the step's timeout is watch.timeout)")
	}
	return err
}

func (s *session) get(raw string) error {
	u, err := s.resolve(raw)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	return s.do(req)
}

func (s *session) setBase(a args) error {
	u, err := s.resolve(a["url"])
	if err != nil {
		return err
	}
	s.base = u
	return nil
}

func (s *session) goTo(a args) error { return s.get(a["url"]) }

// current returns the page or says no page was loaded yet.
func (s *session) current() (*page, error) {
	if s.page == nil {
		return nil, errors.New("no page yet: start with `I go to URL`")
	}
	return s.page, nil
}

func (s *session) follow(a args) error {
	p, err := s.current()
	if err != nil {
		return err
	}
	href, err := p.findLink(a["link"])
	if err != nil {
		return err
	}
	return s.get(p.url.ResolveReference(href).String())
}

func (s *session) status(a args) error {
	p, err := s.current()
	if err != nil {
		return err
	}
	if want := a["code"]; fmt.Sprint(p.status) != want {
		return fmt.Errorf("status is %d %s, want %s", p.status, http.StatusText(p.status), want)
	}
	return nil
}

func (s *session) header(a args) error {
	p, err := s.current()
	if err != nil {
		return err
	}
	vals := p.header.Values(a["header"])
	for _, v := range vals {
		if strings.Contains(v, a["value"]) {
			return nil
		}
	}
	if len(vals) == 0 {
		return fmt.Errorf("no %s header", http.CanonicalHeaderKey(a["header"]))
	}
	return fmt.Errorf("%s is %q, without %q", http.CanonicalHeaderKey(a["header"]), strings.Join(vals, ", "), a["value"])
}

func (s *session) on(a args) error {
	p, err := s.current()
	if err != nil {
		return err
	}
	want, err := s.resolve(a["url"])
	if err != nil {
		return err
	}
	if p.url.String() != want.String() {
		return fmt.Errorf("on %s, want %s", p.url.Redacted(), want.Redacted())
	}
	return nil
}

func (s *session) see(a args) error {
	p, err := s.current()
	if err != nil {
		return err
	}
	if !strings.Contains(p.visibleText(), a["text"]) {
		msg := fmt.Sprintf("%q not found on %s", a["text"], p.url.Redacted())
		if p.truncated {
			msg += fmt.Sprintf(" (only the first %d bytes of the page were read)", maxPage)
		}
		return excerptError{msg, p.excerpt(a["text"])}
	}
	return nil
}

func (s *session) notSee(a args) error {
	p, err := s.current()
	if err != nil {
		return err
	}
	if strings.Contains(p.visibleText(), a["text"]) {
		return excerptError{fmt.Sprintf("%q is on %s", a["text"], p.url.Redacted()), p.excerpt(a["text"])}
	}
	return nil
}

// faster checks the duration of the last step that made a request. Failing it is a warning, not
// a failure: the site works, slowly.
func (s *session) faster(a args) error {
	d, _ := parseDur(a["dur"])
	if s.last == nil {
		return errors.New("no request step (go to, follow, press, submit) before this one to time")
	}
	s.last.Warn = d
	if s.last.Duration >= d {
		return slowError{fmt.Sprintf("the step took %s, limit %s", s.last.Duration.Round(time.Millisecond), d)}
	}
	return nil
}

func (s *session) cert(a args) error {
	p, err := s.current()
	if err != nil {
		return err
	}
	if p.tls == nil || len(p.tls.PeerCertificates) == 0 {
		return fmt.Errorf("%s was not served over TLS", p.url.Redacted())
	}
	leaf := p.tls.PeerCertificates[0]
	var days int
	fmt.Sscan(a["days"], &days)
	left := time.Until(leaf.NotAfter)
	if left < time.Duration(days)*24*time.Hour {
		return fmt.Errorf("certificate for %s expires %s (in %.1f days), want at least %d", strings.Join(leaf.DNSNames, ","),
			leaf.NotAfter.UTC().Format(time.RFC3339), left.Hours()/24, days)
	}
	return nil
}

// excerptError is a failure that shows part of the page.
type excerptError struct{ msg, excerpt string }

func (e excerptError) Error() string { return e.msg }

// slowError is a timing assertion that failed: a warning.
type slowError struct{ msg string }

func (e slowError) Error() string { return e.msg }
