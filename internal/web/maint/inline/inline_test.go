package inline

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/net/html"
)

func TestFixture(t *testing.T) {
	t.Parallel()
	res, err := File("testdata/page/index.html")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range res.Resources {
		got[r.File] = r.Type
		if r.Bytes == 0 {
			t.Errorf("%s: 0 bytes", r.File)
		}
	}
	want := map[string]string{
		"css/style.css":             "text/css",
		"css/fonts.css":             "text/css",
		"fonts/open-sans-700.woff2": "font/woff2",
		"img/tools.svg":             "image/svg+xml",
		"img/logo.png":              "image/png",
	}
	for f, typ := range want {
		if got[f] != typ {
			t.Errorf("%s inlined as %q, want %q (all: %v)", f, got[f], typ, got)
		}
	}
	out := string(res.HTML)
	// Nothing but data: URIs and the canonical link (which is no request).
	refs := regexp.MustCompile(`(?i)(?:src|href)="([^"]*)"|url\("?([^")]*)`).FindAllStringSubmatch(out, -1)
	for _, m := range refs {
		ref := m[1] + m[2]
		if !strings.HasPrefix(ref, "data:") && ref != "https://example.org/" && ref != "https://status.example.org/" {
			t.Errorf("reference left: %q", ref)
		}
	}
	if strings.Contains(out, "<link rel=\"stylesheet\"") || !strings.Contains(out, "<style>") {
		t.Error("the stylesheet was not turned into <style>")
	}
	if !strings.Contains(out, "{{.Site}}") {
		t.Error("template variables were changed")
	}
	// The font's bytes are really in the page.
	font, _ := os.ReadFile("testdata/page/fonts/open-sans-700.woff2")
	if !strings.Contains(out, "data:font/woff2;base64,"+base64.StdEncoding.EncodeToString(font)) {
		t.Error("the font is not inlined byte for byte")
	}
	if _, err := html.Parse(bytes.NewReader(res.HTML)); err != nil {
		t.Error(err)
	}
}

func TestRemoteRefused(t *testing.T) {
	t.Parallel()
	page := `<html><head>
<link rel="stylesheet" href="https://cdn.example.com/a.css">
<link rel="preconnect" href="https://fonts.gstatic.com">
<style>@import url("//fonts.example.net/x.css"); body { background: url(http://img.example/x.png) }</style>
</head><body><img src="local.png" srcset="local.png 1x, https://img.example/2x.png 2x">
<a href="https://example.org/">a link is fine</a><script src="http://js.example/x.js"></script></body></html>`
	fsys := fstest.MapFS{"local.png": {Data: []byte("\x89PNG\r\n\x1a\n")}}
	_, err := Page(fsys, []byte(page))
	var re *RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a RemoteError", err)
	}
	want := []string{"//fonts.example.net/x.css", "http://img.example/x.png", "http://js.example/x.js",
		"https://cdn.example.com/a.css", "https://fonts.gstatic.com", "https://img.example/2x.png"}
	if strings.Join(re.URLs, " ") != strings.Join(want, " ") {
		t.Errorf("remote URLs:\n got %v\nwant %v", re.URLs, want)
	}
}

func TestConfined(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("secret"), 0o600)
	pageDir := filepath.Join(dir, "page")
	os.Mkdir(pageDir, 0o755)
	os.Symlink(filepath.Join(dir, "secret.txt"), filepath.Join(pageDir, "link.png"))
	for _, ref := range []string{"../secret.txt", "/../secret.txt", "a/../../secret.txt", "link.png", "%2e%2e/secret.txt", "file:///etc/passwd"} {
		os.WriteFile(filepath.Join(pageDir, "index.html"), []byte(`<img src="`+ref+`">`), 0o644)
		res, err := File(filepath.Join(pageDir, "index.html"))
		if err == nil {
			t.Errorf("%s: inlined %v", ref, res.Resources)
		}
	}
}

func TestMIMEFromContent(t *testing.T) {
	t.Parallel()
	jpeg := []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")
	if got := mimeType("photo.png", jpeg); got != "image/jpeg" {
		t.Errorf("a JPEG named .png: %s", got)
	}
	if got := mimeType("icon.svg", []byte("<svg/>")); got != "image/svg+xml" {
		t.Errorf("svg: %s", got)
	}
	if got := mimeType("x.woff", []byte("wOFF")); got != "font/woff" {
		t.Errorf("woff: %s", got)
	}
}

func TestMissingReported(t *testing.T) {
	t.Parallel()
	_, err := Page(fstest.MapFS{}, []byte(`<img src="a.png"><img src="b.gif"><base href="/x/">`))
	if err == nil || !strings.Contains(err.Error(), "a.png") || !strings.Contains(err.Error(), "b.gif") || !strings.Contains(err.Error(), "<base") {
		t.Fatalf("err = %v, want every problem", err)
	}
}

func FuzzPage(f *testing.F) {
	fsys := fstest.MapFS{
		"a.png":     {Data: []byte("\x89PNG\r\n\x1a\nxxxx")},
		"s.css":     {Data: []byte(`@import "t.css"; b { background: url(a.png) }`)},
		"t.css":     {Data: []byte(`@import "s.css"; i { background: url('a.png') }`)},
		"d/f.woff2": {Data: []byte("wOF2")},
	}
	for _, s := range []string{
		`<link rel=stylesheet href=s.css><img src=a.png srcset="a.png 1x, a.png 2x">`,
		`<style>@font-face{src:url(d/f.woff2)} @import url(s.css) screen;</style>`,
		`<p style="background:url(&quot;a.png&quot;)">`, `<svg><image href="a.png"/></svg>`,
		`<img src="https://x/">`, `<script src=a.png></script>`, `<style>url(</style>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, page string) {
		res, err := Page(fsys, []byte(page))
		if err != nil {
			return
		}
		if len(res.HTML) == 0 {
			t.Fatal("empty result without an error")
		}
		for _, r := range res.Resources {
			if _, ok := fsys[r.File]; !ok {
				t.Fatalf("read %q, which is not in the tree", r.File)
			}
		}
	})
}
