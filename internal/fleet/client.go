package fleet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Fleet is this node's connection to etcd.
type Fleet struct {
	s   *Settings
	cli *clientv3.Client
	log *slog.Logger

	health health
	reg    registration
	ctx    context.Context // done at Close
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// ConnectError says which step of reaching etcd failed.
type ConnectError struct {
	Endpoint string // host:port, empty when no single member is to blame
	Stage    string // "DNS", "connect", "TLS", "auth", "no quorum"
	Err      error
}

func (e *ConnectError) Error() string {
	if e.Endpoint == "" {
		return fmt.Sprintf("fleet: etcd %s: %v", e.Stage, e.Err)
	}
	return fmt.Sprintf("fleet: etcd %s: %s: %v", e.Endpoint, e.Stage, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// ErrNoQuorum is wrapped by errors of writes the cluster could not commit.
var ErrNoQuorum = errors.New("fleet has no quorum")

// Connect dials etcd and proves the cluster answers a linearizable read
// (which needs a leader, so a quorum) within the dial timeout. On failure
// it probes each member to say what failed.
func Connect(ctx context.Context, s *Settings, log *slog.Logger) (*Fleet, error) {
	eps := make([]string, len(s.Endpoints))
	for i, e := range s.Endpoints {
		eps[i] = "https://" + e
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            eps,
		TLS:                  s.TLS.Clone(),
		DialTimeout:          s.DialTimeout,
		DialKeepAliveTime:    5 * time.Second,
		DialKeepAliveTimeout: s.DialTimeout,
		Logger:               zap.NewNop(),
		RejectOldCluster:     false,
		AutoSyncInterval:     0, // the configured endpoints are the members
	})
	if err != nil {
		return nil, &ConnectError{Stage: "client", Err: err}
	}
	rctx, cancel := context.WithTimeout(ctx, s.DialTimeout)
	defer cancel()
	if _, err := cli.Get(clientv3.WithRequireLeader(rctx), s.Prefix+"members/", clientv3.WithCountOnly()); err != nil {
		cli.Close()
		return nil, diagnose(ctx, s, err)
	}
	f := &Fleet{s: s, cli: cli, log: log}
	f.health.set(nil)
	f.ctx, f.stop = context.WithCancel(context.Background())
	f.wg.Add(1)
	go f.probe(f.ctx)
	return f, nil
}

// Close stops the background work and the client; the membership lease is
// revoked so that the others see this node down at once.
func (f *Fleet) Close() error {
	f.stop()
	f.wg.Wait()
	return f.cli.Close()
}

// Node is this node's name in the fleet.
func (f *Fleet) Node() string { return f.s.Node }

// Key is the fleet key.
func (f *Fleet) Key() *Key { return f.s.Key }

// Client is the etcd client, for the packages keeping shared state.
func (f *Fleet) Client() *clientv3.Client { return f.cli }

// Prefix returns the etcd key prefix of a kind of shared state, like
// "/bartleby/maint/".
func (f *Fleet) Prefix(kind string) string { return f.s.Prefix + kind + "/" }

// Timeout returns a context bounded by the dial timeout, for one request.
func (f *Fleet) Timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(clientv3.WithRequireLeader(ctx), f.s.DialTimeout)
}

// diagnose turns a failed first read into the step that failed: DNS,
// TCP, TLS (including the server refusing our certificate), auth, or a
// cluster that answers but cannot serve a linearizable read (no quorum).
func diagnose(ctx context.Context, s *Settings, cause error) error {
	if isAuth(cause) {
		return &ConnectError{Stage: "auth", Err: cause}
	}
	var problems []error
	reachable := 0
	for _, ep := range s.Endpoints {
		if err := probeEndpoint(ctx, s, ep); err != nil {
			problems = append(problems, err)
			continue
		}
		reachable++
	}
	if reachable == 0 && len(problems) > 0 {
		return errors.Join(problems...)
	}
	err := &ConnectError{Stage: "no quorum", Err: fmt.Errorf("%w: %d of %d members reachable over TLS but no linearizable read within %s (%v)", ErrNoQuorum, reachable, len(s.Endpoints), s.DialTimeout, cause)}
	return errors.Join(append([]error{err}, problems...)...)
}

func isAuth(err error) bool {
	for _, e := range []error{rpctypes.ErrPermissionDenied, rpctypes.ErrAuthFailed, rpctypes.ErrInvalidAuthToken, rpctypes.ErrUserEmpty, rpctypes.ErrAuthOldRevision} {
		if errors.Is(err, e) || strings.Contains(err.Error(), e.Error()) {
			return true
		}
	}
	return false
}

// probeEndpoint walks one member through DNS, TCP and TLS.
func probeEndpoint(ctx context.Context, s *Settings, ep string) error {
	ctx, cancel := context.WithTimeout(ctx, s.DialTimeout)
	defer cancel()
	host, port, err := net.SplitHostPort(ep)
	if err != nil {
		return &ConnectError{Endpoint: ep, Stage: "address", Err: err}
	}
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		return &ConnectError{Endpoint: ep, Stage: "DNS", Err: err}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(addrs[0], port))
	if err != nil {
		return &ConnectError{Endpoint: ep, Stage: "connect", Err: err}
	}
	defer conn.Close()
	conf := s.TLS.Clone()
	conf.ServerName = host
	conf.NextProtos = []string{"h2"}
	tc := tls.Client(conn, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		return &ConnectError{Endpoint: ep, Stage: "TLS", Err: err}
	}
	// With TLS 1.3 the server judges our certificate after the client
	// has finished: a refusal arrives as an alert on the first read. A
	// server that accepted us waits for the HTTP/2 preface instead.
	tc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := tc.Read(make([]byte, 1)); err != nil {
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return &ConnectError{Endpoint: ep, Stage: "TLS", Err: fmt.Errorf("server refused the client certificate: %w", err)}
		}
	}
	return nil
}
