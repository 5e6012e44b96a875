package inline

import (
	"path"
	"regexp"
	"strings"
)

// cssRef matches, outside comments, an @import (groups 1-3: the URL, 4:
// its media list) or a url() (groups 5-7).
var cssRef = regexp.MustCompile(`(?i)@import\s+(?:url\(\s*)?(?:"([^"]*)"|'([^']*)'|([^\s;'")]+))\s*\)?\s*([^;]*);|url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)`)

var cssComment = regexp.MustCompile(`/\*[\s\S]*?\*/`)

// css rewrites a stylesheet whose references are relative to base:
// url()s become data: URIs and local @imports are replaced by the
// imported sheet. depth bounds @import nesting.
func (in *inliner) css(s, base string, depth int) string {
	s = cssComment.ReplaceAllString(s, "")
	var out strings.Builder
	last := 0
	for _, m := range cssRef.FindAllStringSubmatchIndex(s, -1) {
		out.WriteString(s[last:m[0]])
		last = m[1]
		group := func(i int) string {
			if m[2*i] < 0 {
				return ""
			}
			return s[m[2*i]:m[2*i+1]]
		}
		if ref := group(1) + group(2) + group(3); m[2] >= 0 || m[4] >= 0 || m[6] >= 0 {
			out.WriteString(in.cssImport(ref, strings.TrimSpace(group(4)), base, depth))
			continue
		}
		ref := group(5) + group(6) + group(7)
		if uri := in.dataURI(ref, base, ""); uri != ref {
			out.WriteString("url(" + uri + ")") // base64 needs no quotes
		} else {
			out.WriteString(s[m[0]:m[1]])
		}
	}
	out.WriteString(s[last:])
	return out.String()
}

// cssImport returns the content of an imported sheet, wrapped in @media
// when the import had a media list.
func (in *inliner) cssImport(ref, media, base string, depth int) string {
	if depth >= maxDepth {
		in.problemf("%s: @import nested deeper than %d", ref, maxDepth)
		return ""
	}
	file, ok := in.local(ref, base)
	if !ok {
		return ""
	}
	b, _, ok := in.read(ref, file, "text/css")
	if !ok {
		return ""
	}
	css := in.css(string(b), path.Dir(file), depth+1)
	if media != "" {
		return "@media " + media + " {\n" + css + "\n}\n"
	}
	return css + "\n"
}
