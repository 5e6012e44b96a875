package admin

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"bartleby/internal/adminui"
	"bartleby/internal/certs"
	"bartleby/internal/part"
)

// Expiry thresholds of the certificates card: ACME renews 30 days ahead,
// so a certificate this close to its end was not renewed.
const (
	certWarn = 21 * 24 * time.Hour
	certFail = 7 * 24 * time.Hour
)

type certRow struct {
	certs.Cert
	Left  string
	Level part.Level
}

func certLevel(c certs.Cert, now time.Time) part.Level {
	switch left := c.NotAfter.Sub(now); {
	case c.Error != "" || left < certFail:
		return part.Failing
	case left < certWarn || len(c.ACMEFailures) > 0:
		return part.Warning
	}
	return part.OK
}

// certsPage lists the certificates in use, soonest expiry first.
func (v *view) certsPage(w http.ResponseWriter, r *http.Request) {
	now := v.now()
	var rows []certRow
	for _, c := range v.deps.Certs() {
		row := certRow{Cert: c, Level: certLevel(c, now)}
		if c.Error == "" {
			row.Left = days(c.NotAfter.Sub(now))
		}
		rows = append(rows, row)
	}
	var body strings.Builder
	if err := pages.ExecuteTemplate(&body, "certs.html", rows); err != nil {
		adminui.Error(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	adminui.Render(w, r, "Certificates", template.HTML(body.String()))
}

// certsCard is the soonest expiry, any certificate that cannot be had and
// the last ACME failure of names not obtained since.
func certsCard(list []certs.Cert, now time.Time) part.Card {
	c := part.Card{Title: "Certificates", Link: "/certs"}
	c.Facts = append(c.Facts, part.Fact{Label: "In use", Value: fmt.Sprint(len(list))})
	for _, cert := range list {
		lvl := certLevel(cert, now)
		c.Level = max(c.Level, lvl)
		if cert.Error != "" {
			c.Problems = append(c.Problems, name(cert)+": "+cert.Error)
		}
		for _, f := range cert.ACMEFailures {
			c.Problems = append(c.Problems, fmt.Sprintf("%s: %s failed %s ago: %s", f.Name, f.Attempt(), ago(now, f.At), f.Error))
		}
	}
	for _, cert := range list {
		if cert.Error == "" {
			c.Facts = append(c.Facts, part.Fact{Label: "Soonest expiry", Value: name(cert) + " in " + days(cert.NotAfter.Sub(now)), Level: certLevel(cert, now)})
			break
		}
	}
	return c
}

func name(c certs.Cert) string {
	if len(c.Names) > 0 {
		return c.Names[0]
	}
	if len(c.Subjects) > 0 {
		return c.Subjects[0]
	}
	return "default"
}

func days(d time.Duration) string {
	if d < 48*time.Hour {
		return d.Truncate(time.Minute).String()
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
