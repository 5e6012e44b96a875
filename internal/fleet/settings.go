// Package fleet joins bartleby hosts through etcd: a client with mutual TLS,
// membership under a lease, an encrypted certmagic storage, and the shared
// state other packages watch (maintenance switch, SSH blocklist). Without a
// [fleet] section none of it runs.
package fleet

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"bartleby/internal/certs/capool"
	"bartleby/internal/config"
)

// Defaults of the [fleet] section.
const (
	DefaultPrefix      = "/bartleby/"
	DefaultDialTimeout = 5 * time.Second
	maxEndpoints       = 16
)

// Settings is a checked [fleet] section, ready to connect with.
type Settings struct {
	Endpoints   []string // host:port of each member, in config order
	TLS         *tls.Config
	Key         *Key // the fleet key
	Node        string
	Prefix      string
	DialTimeout time.Duration
}

// Compile checks the [fleet] section of cfg (paths relative to the config
// file) and loads its certificates and fleet key. It returns every problem
// at once; nil settings and nil error when there is no [fleet].
func Compile(cfg *config.Config) (*Settings, error) {
	f := cfg.Fleet
	if f == nil {
		return nil, nil
	}
	var errs []error
	fail := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("fleet.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	s := &Settings{Node: f.Node, Prefix: f.Prefix, DialTimeout: DefaultDialTimeout}
	s.Endpoints = endpoints(f.Etcd, fail)
	if s.Node == "" {
		s.Node = cfg.Hostname
	}
	if !validNode(s.Node) {
		fail("node", "%q: use letters, digits, '.', '-' and '_' (at most 63)", s.Node)
	}
	if s.Prefix == "" {
		s.Prefix = DefaultPrefix
	}
	if !strings.HasPrefix(s.Prefix, "/") || !strings.HasSuffix(s.Prefix, "/") || len(s.Prefix) > 128 {
		fail("prefix", "%q must start and end with '/' (like %q)", s.Prefix, DefaultPrefix)
	}
	if f.DialTimeout.Set() {
		raw, _ := f.DialTimeout.MarshalText()
		d, err := config.ParseDuration(string(raw))
		switch {
		case err != nil:
			fail("dial_timeout", "%v", err)
		case d < 100*time.Millisecond || d > time.Minute:
			fail("dial_timeout", "%s is out of range (100ms to 1m)", d)
		default:
			s.DialTimeout = d
		}
	}
	tlsConf, err := clientTLS(cfg.Path(f.Cert), cfg.Path(f.Key), cfg.Path(f.CA))
	if err != nil {
		errs = append(errs, err)
	}
	s.TLS = tlsConf
	if f.KeyFile == "" {
		fail("key_file", "is required: the fleet key encrypting private keys in etcd (make one with `head -c32 /dev/urandom | base64 > fleet.key`)")
	} else if s.Key, err = LoadKey(cfg.Path(f.KeyFile)); err != nil {
		fail("key_file", "%v", err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// endpoints checks the etcd URLs: https only (etcd sees private keys go
// by, encrypted or not, and the membership), with a host and a port.
func endpoints(urls []string, fail func(key, format string, args ...any)) []string {
	if len(urls) == 0 {
		fail("etcd", "needs the client URL of at least one etcd member (like \"https://10.0.0.1:2379\")")
	}
	if len(urls) > maxEndpoints {
		fail("etcd", "more than %d members", maxEndpoints)
		return nil
	}
	var out []string
	for i, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") {
			fail(fmt.Sprintf("etcd[%d]", i+1), "%q is not an https://host:port URL (etcd without TLS is not supported)", raw)
			continue
		}
		out = append(out, u.Host)
	}
	return out
}

// clientTLS loads the client certificate and the CA etcd's certificates
// are checked against.
func clientTLS(certFile, keyFile, caPath string) (*tls.Config, error) {
	var errs []error
	if certFile == "" || keyFile == "" {
		errs = append(errs, fmt.Errorf("fleet.cert, fleet.key: a client certificate and key are required (etcd with --client-cert-auth)"))
	}
	if caPath == "" {
		errs = append(errs, fmt.Errorf("fleet.ca: the CA (file or directory) that signed etcd's certificates is required"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		errs = append(errs, fmt.Errorf("fleet.cert, fleet.key: %w", err))
	}
	var pool *x509.CertPool
	if pool, err = capool.Load(caPath); err != nil {
		errs = append(errs, fmt.Errorf("fleet.ca: %w", err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

func validNode(n string) bool {
	if n == "" || len(n) > 63 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
