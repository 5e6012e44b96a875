package inline

import (
	"encoding/base64"
	"net/http"
	"path"
	"strings"
)

// types maps file extensions to MIME types; a fixed table so the result
// does not depend on the host's /etc/mime.types.
var types = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".webp": "image/webp", ".avif": "image/avif", ".svg": "image/svg+xml", ".ico": "image/x-icon",
	".bmp":  "image/bmp",
	".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
	".eot": "application/vnd.ms-fontobject",
	".css": "text/css", ".js": "text/javascript", ".mjs": "text/javascript",
	".mp4": "video/mp4", ".webm": "video/webm", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
	".wav": "audio/wav", ".json": "application/json", ".txt": "text/plain", ".html": "text/html",
}

// mimeType names a file's type by its extension; for raster images and
// unknown extensions the content decides, so a JPEG named .png is sent as
// what it is.
func mimeType(name string, b []byte) string {
	ext := strings.ToLower(path.Ext(name))
	typ, known := types[ext]
	sniffed := http.DetectContentType(b)
	if i := strings.IndexByte(sniffed, ';'); i >= 0 {
		sniffed = sniffed[:i]
	}
	switch {
	case !known:
		return sniffed
	case strings.HasPrefix(typ, "image/") && typ != "image/svg+xml" && strings.HasPrefix(sniffed, "image/"):
		return sniffed
	}
	return typ
}

// dataURL encodes b as a base64 data: URI.
func dataURL(typ string, b []byte) string {
	return "data:" + typ + ";base64," + base64.StdEncoding.EncodeToString(b)
}
