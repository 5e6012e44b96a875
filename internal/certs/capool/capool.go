// Package capool loads the CA certificates a TLS client should trust from a
// PEM file or from a directory of PEM files.
//
// A directory works whatever its files are called: unlike OpenSSL's CApath it
// needs no hashed links, and unlike GnuTLS in Exim it does not fail with
// "Error while reading file" (see the seeds). A path that yields no
// certificate is an error that says so, never an empty pool that silently
// trusts nothing.
package capool

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"bartleby/internal/config"
)

// Limits keep a mistaken path (a whole /usr) from being slurped.
const (
	maxFiles = 1000
)

// Load returns a pool of the certificates found at path, a PEM file or a
// directory of them (not recursive; hidden files skipped).
func Load(path string) (*x509.CertPool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("CA %s: %w", path, err)
	}
	pool := x509.NewCertPool()
	if !st.IsDir() {
		n, err := addFile(pool, path)
		if err != nil {
			return nil, fmt.Errorf("CA %s: %w", path, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("CA %s: no PEM certificate in the file", path)
		}
		return pool, nil
	}
	return loadDir(pool, path)
}

func loadDir(pool *x509.CertPool, dir string) (*x509.CertPool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("CA directory %s: %w", dir, err)
	}
	if len(entries) > maxFiles {
		return nil, fmt.Errorf("CA directory %s: more than %d files", dir, maxFiles)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Name()[0] != '.' {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	total := 0
	var errs []error
	for _, name := range names {
		p := filepath.Join(dir, name)
		st, err := os.Stat(p) // follows the hashed links of c_rehash
		if err != nil || st.IsDir() {
			continue
		}
		n, err := addFile(pool, p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		total += n
	}
	if total == 0 {
		if len(errs) > 0 {
			return nil, fmt.Errorf("CA directory %s: no usable certificate: %w", dir, errors.Join(errs...))
		}
		return nil, fmt.Errorf("CA directory %s: no PEM certificate in any file", dir)
	}
	return pool, nil
}

// addFile adds every certificate in one PEM file and counts them. Blocks
// that are not certificates (keys, CRLs) are skipped.
func addFile(pool *x509.CertPool, path string) (int, error) {
	data, err := config.ReadFile(path, config.MaxCAFile)
	if err != nil {
		return 0, config.Reason(err)
	}
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return n, nil
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return n, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
}

// Check reports, under key, a CA file or directory the config names that
// would not load; "" is the system roots and always fine.
func Check(c *config.Checker, key, path string) {
	if path == "" {
		return
	}
	if _, err := Load(path); err != nil {
		c.Errorf(key, "%v", err)
	}
}
