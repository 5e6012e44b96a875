package certs

import (
	"context"
	"fmt"
	"time"
)

// maxErrorLen bounds a remembered ACME error: a CA's problem document can
// be long, and the admin UI shows it whole.
const maxErrorLen = 1000

// ACMEFailure is the last failed attempt to obtain or renew one name's
// certificate, kept until an attempt succeeds.
type ACMEFailure struct {
	Name    string
	At      time.Time
	Renewal bool // a renewal (the old certificate is still served), not a first obtain
	Error   string
}

// Attempt names what the failed attempt was doing.
func (f ACMEFailure) Attempt() string {
	if f.Renewal {
		return "renewal"
	}
	return "obtaining a certificate"
}

// onEvent is certmagic's event hook: it remembers the last failure per
// managed name and forgets it when a certificate is obtained. Only
// managed names are kept, so memory is bounded by the configuration.
func (a *acmeState) onEvent(_ context.Context, event string, data map[string]any) error {
	name, _ := data["identifier"].(string)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, managed := a.byName[name]; !managed {
		return nil
	}
	switch event {
	case "cert_failed":
		renewal, _ := data["renewal"].(bool)
		msg := fmt.Sprint(data["error"])
		if r := []rune(msg); len(r) > maxErrorLen {
			msg = string(r[:maxErrorLen-1]) + "…"
		}
		a.failures[name] = ACMEFailure{Name: name, At: time.Now(), Renewal: renewal, Error: msg}
	case "cert_obtained":
		delete(a.failures, name)
	}
	return nil
}

// failuresFor are the remembered failures of names, in their order.
func (a *acmeState) failuresFor(names []string) []ACMEFailure {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []ACMEFailure
	for _, n := range names {
		if f, ok := a.failures[n]; ok {
			out = append(out, f)
		}
	}
	return out
}
