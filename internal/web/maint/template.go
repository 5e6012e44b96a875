package maint

import (
	"bytes"
	"fmt"
	"html/template"
	"time"
	"unicode/utf8"

	"bartleby/internal/config"
)

// PageData is what a maintenance page template is executed with. A custom
// page may use any of these fields.
type PageData struct {
	Status     int       // 503, or 502/504 for a backend error page
	Title      string    // "Down for maintenance", "Bad gateway", …
	Site       string    // the site's name (its first host)
	Message    string    // the operator's message
	Until      time.Time // expected end; zero when unknown
	BackAround string    // the end in words: "06:00 UTC" or "06:00 UTC on Tue 1 Dec"; "" when unknown
	RetryAfter int       // seconds, as sent in Retry-After
}

// LoadPage reads and parses a custom maintenance page, and executes it once
// so that a reference to an unknown variable is found now.
func LoadPage(path string) (*template.Template, error) {
	b, err := config.ReadFile(path, config.MaxPageFile)
	if err != nil {
		return nil, fmt.Errorf("cannot read page: %v", config.Reason(err))
	}
	return ParsePage(path, b)
}

// ParsePage parses a page template and checks it against a sample PageData.
func ParsePage(name string, b []byte) (*template.Template, error) {
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("page %s is not valid UTF-8", name)
	}
	t, err := template.New(name).Option("missingkey=error").Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("page %s: %v", name, err)
	}
	sample := PageData{Status: 503, Title: "Down for maintenance", Site: "example.org",
		Message: "Upgrading.", Until: time.Now(), BackAround: "06:00 UTC", RetryAfter: 300}
	var buf bytes.Buffer
	if err := t.Execute(&buf, sample); err != nil {
		return nil, fmt.Errorf("page %s: %v (variables: .Status .Title .Site .Message .Until .BackAround .RetryAfter)", name, err)
	}
	if len(bytes.TrimSpace(buf.Bytes())) == 0 {
		return nil, fmt.Errorf("page %s renders to nothing", name)
	}
	return t, nil
}
