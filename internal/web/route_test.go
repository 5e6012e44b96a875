package web

import (
	"regexp"
	"strings"
	"testing"
)

func TestCleanPath(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"/": "/", "/a/b": "/a/b", "/a/b/": "/a/b/", "//wp-uploads//x": "/wp-uploads/x",
		"/./a/./": "/a/", "/a/.": "/a/", "/a/./.": "/a/", "/.well-known/x": "/.well-known/x", "/a..b": "/a..b",
	}
	for in, want := range good {
		if got, ok := cleanPath(in); !ok || got != want {
			t.Errorf("cleanPath(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "a", "*", "/../etc/passwd", "/a/../b", "/a/..", "/a\x00b", `/a\..\b`, "/public/..;/admin", "/a;jsessionid=1"} {
		if got, ok := cleanPath(bad); ok {
			t.Errorf("cleanPath(%q) = %q, accepted", bad, got)
		}
	}
}

func TestMatcher(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^(?:/blog/[0-9]+)$`)
	tests := []struct {
		m    matcher
		path string
		want bool
	}{
		{matcher{prefix: "/wp-uploads/"}, "/wp-uploads/a.png", true},
		{matcher{prefix: "/wp-uploads/"}, "/wp-uploads", true},
		{matcher{prefix: "/wp-uploads/"}, "/WP-Uploads/a.png", true},
		{matcher{prefix: "/wp-uploads/"}, "/WP-UPLOADS", true},
		{matcher{prefix: "/wp-uploads/"}, "/wp-uploadsx", false},
		{matcher{prefix: "/wp-uploads/"}, "/wp-upload", false},
		{matcher{prefix: "/kelvin/"}, "/\u212aelvin/", false},
		{matcher{prefix: "/"}, "/x", true},
		{matcher{prefix: "/wp-login.php"}, "/WP-LOGIN.PHP", true},
		{matcher{ext: map[string]bool{"css": true}}, "/a/b.CSS", true},
		{matcher{ext: map[string]bool{"css": true}}, "/a.css/b", false},
		{matcher{ext: map[string]bool{"css": true}}, "/css", false},
		{matcher{re: re}, "/blog/12", true},
		{matcher{re: re}, "/blog/12/x", false},
		{matcher{re: re}, "/x/blog/12", false},
		{matcher{}, "/anything", true},
	}
	for _, tt := range tests {
		if got := tt.m.match(tt.path); got != tt.want {
			t.Errorf("%+v.match(%q) = %v", tt.m, tt.path, got)
		}
	}
}

// FuzzRoute checks the path checks and matchers against their definitions
// on arbitrary request paths.
func FuzzRoute(f *testing.F) {
	for _, s := range []string{"/", "/a/b.css", "//x/../y", "/.git/config", "/wp-uploads/%2e%2e/x", "/a\x00", "/a.B.Js", "/é/ü.txt"} {
		f.Add(s, "/wp-uploads/")
	}
	f.Fuzz(func(t *testing.T, p, prefix string) {
		c, ok := cleanPath(p)
		if !ok {
			return
		}
		if !strings.HasPrefix(c, "/") || strings.Contains(c, "//") || strings.ContainsRune(c, 0) {
			t.Fatalf("cleanPath(%q) = %q", p, c)
		}
		for seg := range strings.SplitSeq(c, "/") {
			if seg == ".." || seg == "." {
				t.Fatalf("cleanPath(%q) = %q keeps a dot segment", p, c)
			}
		}
		if again, _ := cleanPath(c); again != c {
			t.Fatalf("cleanPath not idempotent: %q -> %q -> %q", p, c, again)
		}
		under := strings.HasPrefix(strings.ToLower(c), strings.ToLower(prefix)) ||
			len(prefix) > 1 && strings.HasSuffix(prefix, "/") && strings.EqualFold(c+"/", prefix)
		if isASCII(c+prefix) && (matcher{prefix: prefix}).match(c) != (prefix == "" || under) {
			t.Fatalf("prefix %q on %q", prefix, c)
		}
		ext := extOf(c)
		if strings.ContainsAny(ext, "/.") || ext != strings.ToLower(ext) {
			t.Fatalf("extOf(%q) = %q", c, ext)
		}
		if ext != "" && !(matcher{ext: map[string]bool{ext: true}}).match(c) {
			t.Fatalf("ext %q does not match its own path %q", ext, c)
		}
		if s, ok := stripPath(c, prefix); ok {
			if again, _ := cleanPath(s); again != s {
				t.Fatalf("stripping %q from %q gives an unclean path %q", prefix, c, s)
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func TestMatchForm(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"/a/b": "/a/b", "/.well-known/x": "/.well-known/x", "/a./b": "/a/b",
		"/a. . /b.": "/a/b", "/shell.php.": "/shell.php", "/a b/c": "/a b/c", "/": "/"} {
		if got := matchForm(in); got != want {
			t.Errorf("matchForm(%q) = %q, want %q", in, got, want)
		}
	}
	rs := router{{matcher: matcher{ext: map[string]bool{"php": true}}}, {matcher: matcher{prefix: "/"}}}
	if rt := rs.match("/uploads/shell.php. "); rt != rs[0] {
		t.Error("shell.php. is not matched as a .php path")
	}
}

func TestStripPathAnyCase(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"/wp-uploads/a.png": "/a.png", "/WP-Uploads/a.png": "/a.png", "/wp-uploads": "/", "/other/x": "/other/x"} {
		if got, ok := stripPath(in, "/wp-uploads"); !ok || got != want {
			t.Errorf("stripPath(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
