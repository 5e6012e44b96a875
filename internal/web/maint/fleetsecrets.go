package maint

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// fleetSecrets are the bypass settings a fleet shares, sealed with the
// fleet key in etcd: one random cookie key for the whole fleet (a bypass
// cookie set by one node passes on all; knowing the bypass URL does not
// let anyone forge cookies) and each site's bypass token, so that the
// secret file need only be on one node.
type fleetSecrets struct {
	cookieKey []byte            // random, made by the first node
	tokens    map[string]string // by site, as published in etcd
}

// Where the shared secrets live, under the fleet's prefix.
func (sh *shared) cookieKeyName() string { return sh.f.Prefix("maint-secrets") + "cookie-key" }
func (sh *shared) tokenName(site string) string {
	return sh.f.Prefix("maint-secrets") + "bypass/" + site
}

// loadSecrets makes sure the fleet has a cookie key, publishes the bypass
// tokens this node has from its files (only when etcd holds another value,
// so an idle fleet writes nothing) and reads the others' tokens, as of the
// revision returned.
func (m *Manager) loadSecrets(ctx context.Context, sh *shared) (*fleetSecrets, int64, error) {
	ctx, cancel := sh.f.Timeout(ctx)
	defer cancel()
	key, err := sh.cookieKey(ctx)
	if err != nil {
		return nil, 0, err
	}
	fs := &fleetSecrets{cookieKey: key, tokens: map[string]string{}}
	resp, err := sh.f.Client().Get(ctx, sh.tokenName(""), clientv3.WithPrefix(), clientv3.WithLimit(maxSites))
	if err != nil {
		return nil, 0, err
	}
	for _, kv := range resp.Kvs {
		if site, tok, err := sh.openToken(kv.Key, kv.Value); err == nil {
			fs.tokens[site] = tok
		} else {
			m.log.Error("maintenance: bad bypass token in etcd", "err", err)
		}
	}
	for name, st := range m.snap.Load().sites {
		if own := st.cfg.ownToken; own != "" && fs.tokens[name] != own {
			k := sh.tokenName(name)
			if _, err := sh.f.Client().Put(ctx, k, string(sh.f.Key().Seal(k, []byte(own)))); err != nil {
				return nil, 0, err
			}
			fs.tokens[name] = own
		}
	}
	return fs, resp.Header.Revision, nil
}

// cookieKey reads the fleet's cookie key, the first node creating it.
func (sh *shared) cookieKey(ctx context.Context) ([]byte, error) {
	name := sh.cookieKeyName()
	fresh := make([]byte, 32)
	rand.Read(fresh)
	resp, err := sh.f.Client().Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(name), "=", 0)).
		Then(clientv3.OpPut(name, string(sh.f.Key().Seal(name, fresh)))).
		Else(clientv3.OpGet(name)).Commit()
	if err != nil {
		return nil, err
	}
	if resp.Succeeded {
		return fresh, nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) != 1 {
		return nil, fmt.Errorf("maintenance cookie key: vanished while read")
	}
	key, err := sh.f.Key().Open(name, kvs[0].Value)
	if err == nil && len(key) != 32 {
		err = fmt.Errorf("maintenance cookie key: %d bytes, want 32", len(key))
	}
	return key, err
}

// openToken decrypts a published token and checks it as a secret file's.
func (sh *shared) openToken(key, sealed []byte) (site, token string, err error) {
	site = strings.TrimPrefix(string(key), sh.tokenName(""))
	plain, err := sh.f.Key().Open(string(key), sealed)
	if err != nil {
		return "", "", err
	}
	if problem := bypassTokenProblem(string(plain)); problem != "" {
		return "", "", fmt.Errorf("%s: %s", site, problem)
	}
	return site, string(plain), nil
}

// withFleetSecrets gives a site the fleet's token when it has none of its
// own, and signs its cookies with a key derived from the fleet's.
func (sc *siteConfig) withFleetSecrets(fs *fleetSecrets) {
	if fs == nil {
		return
	}
	if sc.token == "" {
		sc.token = fs.tokens[sc.name]
	}
	if sc.token != "" {
		mac := hmac.New(sha256.New, fs.cookieKey)
		mac.Write([]byte("bartleby fleet bypass cookie v1\x00" + sc.token))
		sc.cookieKey = mac.Sum(nil)
	}
}
