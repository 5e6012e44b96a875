package certs

import (
	"crypto/tls"
	"strings"
)

// getCert returns the certificate for one handshake.
type getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)

// selector picks a source by the SNI name of a handshake.
type selector struct {
	exact    map[string]getCert // "www.example.org"
	wildcard map[string]getCert // "example.org" for "*.example.org"
	fallback getCert            // the first source
}

func (s *selector) add(names []string, get getCert) {
	if s.fallback == nil {
		s.fallback = get
		s.exact = map[string]getCert{}
		s.wildcard = map[string]getCert{}
	}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if parent, ok := strings.CutPrefix(n, "*."); ok {
			if _, dup := s.wildcard[parent]; !dup {
				s.wildcard[parent] = get
			}
		} else if _, dup := s.exact[n]; !dup {
			s.exact[n] = get
		}
	}
}

// get is the config's GetCertificate. A wildcard covers one label only,
// as in certificates: "*.example.org" matches "a.example.org", not
// "example.org" nor "a.b.example.org".
func (s *selector) get(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.pick(hello.ServerName)(hello)
}

func (s *selector) pick(name string) getCert {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if get, ok := s.exact[name]; ok {
		return get
	}
	if _, parent, ok := strings.Cut(name, "."); ok {
		if get, ok := s.wildcard[parent]; ok {
			return get
		}
	}
	return s.fallback
}
