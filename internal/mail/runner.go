package mail

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"bartleby/internal/mail/deliver"
	"bartleby/internal/mail/queue"
)

// Routes a message can take.
const (
	routeSmarthost = "smarthost"
	routePrimary   = "primary"
)

// Delivery pacing.
const (
	firstRetry  = time.Minute
	idleClose   = 15 * time.Second // a reused connection closed after this long unused
	flushWait   = 2 * time.Minute  // flush reports what happened within this time
	maxSchedule = time.Minute      // the scheduler looks at the queue at least this often
)

// route is a next hop with its workers and retry policy. target and
// policy read the config in force at each attempt, so a reload applies to
// the next attempt.
type route struct {
	name    string
	target  func(env *queue.Envelope) (*deliver.Target, error)
	policy  func() retryPolicy
	workers int
	jobs    chan string
}

// retryPolicy is how often a route retries and when it gives up.
type retryPolicy struct{ every, giveUp time.Duration }

// runner schedules deliveries: due messages go to their route's workers,
// each of which keeps its connection open across messages.
type runner struct {
	m      *Mail
	routes map[string]*route
	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	inflight map[string][]chan Outcome
}

// Outcome is what one delivery attempt did to a message.
type Outcome struct {
	ID     string `json:"id"`
	Result string `json:"result"` // delivered, deferred, bounced, partial, held, gone, pending
	Detail string `json:"detail,omitempty"`
}

// newRunner makes the routes of the config in force; a reload cannot add
// or remove one, nor change its number of workers (see inPlace).
func newRunner(m *Mail) *runner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{m: m, routes: map[string]*route{}, kick: make(chan struct{}, 1),
		ctx: ctx, cancel: cancel, inflight: map[string][]chan Outcome{}}
	cfg := m.conf().cfg
	if sh := cfg.Smarthost; sh != nil {
		r.add(&route{name: routeSmarthost, workers: sh.Connections,
			target: func(*queue.Envelope) (*deliver.Target, error) { return m.conf().smarthost, nil },
			policy: func() retryPolicy {
				c := m.conf().cfg
				return retryPolicy{c.RetryEvery.Duration, c.GiveUpAfter.Duration}
			}})
	}
	if cfg.BackupMX != nil {
		r.add(m.primaryRoute())
	}
	return r
}

func (r *runner) add(rt *route) {
	rt.jobs = make(chan string, rt.workers)
	r.routes[rt.name] = rt
}

func (r *runner) start() {
	for _, rt := range r.routes {
		for range rt.workers {
			r.wg.Add(1)
			go r.worker(rt)
		}
	}
	r.wg.Add(1)
	go r.schedule()
}

func (r *runner) shutdown(ctx context.Context) {
	r.cancel()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// poke makes the scheduler look at the queue now.
func (r *runner) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *runner) schedule() {
	defer r.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		next := r.dispatchDue()
		timer.Reset(max(0, min(time.Until(next), maxSchedule)))
		select {
		case <-r.ctx.Done():
			return
		case <-r.m.q.Added:
		case <-r.kick:
		case <-timer.C:
		}
	}
}

// dispatchDue hands every due message to its route, as far as the workers
// take them, and returns when the next one falls due.
func (r *runner) dispatchDue() time.Time {
	now := time.Now()
	ids, routes, next := r.m.q.Due(now)
	if next.IsZero() {
		next = now.Add(maxSchedule)
	}
	busy := map[string]bool{}
	for i, id := range ids {
		rt := r.routes[routes[i]]
		if rt == nil || busy[rt.name] || !r.claim(id, nil) {
			continue
		}
		select {
		case rt.jobs <- id:
		default: // workers busy; they poke us when done
			r.release(id)
			busy[rt.name] = true
		}
	}
	return next
}

// claim marks a message in flight; a waiter is told its outcome. It
// reports whether the caller must dispatch it (false: already in flight).
func (r *runner) claim(id string, wait chan Outcome) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	waiters, busy := r.inflight[id]
	if wait != nil {
		waiters = append(waiters, wait)
	}
	r.inflight[id] = waiters
	return !busy
}

func (r *runner) release(id string) {
	r.mu.Lock()
	delete(r.inflight, id)
	r.mu.Unlock()
}

// finish ends a message's flight and tells whoever waits for it.
func (r *runner) finish(o Outcome) {
	r.mu.Lock()
	waiters := r.inflight[o.ID]
	delete(r.inflight, o.ID)
	r.mu.Unlock()
	for _, w := range waiters {
		w <- o
	}
	r.poke()
}

// flush attempts the given messages (all when ids is empty) now, held ones
// excepted, and reports what each attempt did.
func (r *runner) flush(ctx context.Context, ids []string) []Outcome {
	if len(ids) == 0 {
		for _, e := range r.m.q.List() {
			if !e.Held {
				ids = append(ids, e.ID)
			}
		}
	}
	waits := make([]chan Outcome, len(ids))
	out := make([]Outcome, len(ids))
	for i, id := range ids {
		waits[i] = make(chan Outcome, 1)
		out[i] = r.flushOne(ctx, id, waits[i])
	}
	deadline := time.NewTimer(flushWait)
	defer deadline.Stop()
	for i := range ids {
		if out[i].Result != "" {
			continue
		}
		select {
		case out[i] = <-waits[i]:
		case <-deadline.C:
			out[i] = Outcome{ID: ids[i], Result: "pending", Detail: "attempt still in progress"}
		case <-ctx.Done():
			out[i] = Outcome{ID: ids[i], Result: "pending", Detail: "attempt still in progress"}
		}
	}
	return out
}

// flushOne dispatches one message, or says at once why not.
func (r *runner) flushOne(ctx context.Context, id string, wait chan Outcome) Outcome {
	e, ok := r.m.q.Get(id)
	switch {
	case !ok:
		return Outcome{ID: id, Result: "gone", Detail: "not in the queue (delivered or deleted)"}
	case e.Held:
		return Outcome{ID: id, Result: "held", Detail: "on hold; release it first"}
	case r.routes[e.Route] == nil:
		return Outcome{ID: id, Result: "deferred", Detail: "no route " + e.Route + " in the config"}
	}
	if !r.claim(id, wait) {
		return Outcome{}
	}
	select {
	case r.routes[e.Route].jobs <- id:
		return Outcome{}
	case <-ctx.Done():
		r.release(id)
		return Outcome{ID: id, Result: "pending", Detail: "not attempted: " + ctx.Err().Error()}
	}
}

func (r *runner) worker(rt *route) {
	defer r.wg.Done()
	var conn *deliver.Conn
	idle := time.NewTimer(idleClose)
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for {
		select {
		case <-r.ctx.Done():
			return
		case id := <-rt.jobs:
			var o Outcome
			conn, o = r.attempt(rt, conn, id)
			r.finish(o)
			idle.Reset(idleClose)
		case <-idle.C:
			if conn != nil {
				conn.Close()
				conn = nil
			}
		}
	}
}

// attempt delivers one message over conn (dialling when nil) and returns the
// connection still usable, if any.
func (r *runner) attempt(rt *route, conn *deliver.Conn, id string) (*deliver.Conn, Outcome) {
	env, ok := r.m.q.Get(id)
	if !ok {
		return conn, Outcome{ID: id, Result: "gone", Detail: "not in the queue (delivered or deleted)"}
	}
	if env.Held {
		return conn, Outcome{ID: id, Result: "held", Detail: "on hold"}
	}
	res, conn, err := r.send(rt, conn, &env)
	if err != nil {
		res = map[string]*deliver.Error{}
		var de *deliver.Error
		if !errors.As(err, &de) {
			de = &deliver.Error{Kind: "queue", Temporary: true, Reason: err.Error()}
		}
		if rt.name == routePrimary && de.Kind == "connect" {
			r.m.primaryDown.Store(true)
		}
		for _, rc := range env.Rcpts {
			if rc.Open() {
				res[rc.Addr] = de
			}
		}
	}
	return conn, r.record(rt, &env, res)
}

// send transmits the message; a reused connection that fails at the
// network level (the peer closed it while idle) is replaced once.
func (r *runner) send(rt *route, conn *deliver.Conn, env *queue.Envelope) (map[string]*deliver.Error, *deliver.Conn, error) {
	target, err := rt.target(env)
	if err != nil {
		return nil, conn, err
	}
	if conn != nil {
		res, err := r.sendOn(conn, env)
		if err == nil {
			return res, conn, nil
		}
		conn.Close()
		var de *deliver.Error
		if !errors.As(err, &de) || de.Kind != "network" {
			return res, nil, unsettled(res, err)
		}
	}
	conn, err = deliver.Dial(r.ctx, target)
	if err != nil {
		return nil, nil, err
	}
	res, err := r.sendOn(conn, env)
	if err != nil {
		conn.Close()
		return res, nil, unsettled(res, err)
	}
	return res, conn, nil
}

// unsettled keeps err only when there are no per-recipient results to
// carry it (Send fills them in when it fails).
func unsettled(res map[string]*deliver.Error, err error) error {
	if len(res) > 0 {
		return nil
	}
	return err
}

func (r *runner) sendOn(conn *deliver.Conn, env *queue.Envelope) (map[string]*deliver.Error, error) {
	data, err := r.m.q.Data(env.ID)
	if err != nil {
		return nil, err
	}
	defer data.Close()
	msg := &deliver.Message{From: env.From, SMTPUTF8: env.SMTPUTF8, Size: env.Size, Data: data}
	for _, rc := range env.Rcpts {
		if rc.Open() {
			msg.Rcpts = append(msg.Rcpts, rc.Addr)
		}
	}
	res, err := conn.Send(msg)
	out := make(map[string]*deliver.Error, len(res))
	for _, x := range res {
		out[x.Addr] = x.Err
	}
	return out, err
}

// backoff is the wait before attempt n+1: 1m, 2m, 4m … up to retryEvery.
func backoff(attempts int, retryEvery time.Duration) time.Duration {
	d := firstRetry
	for i := 1; i < attempts && d < retryEvery; i++ {
		d *= 2
	}
	return min(d, retryEvery)
}

// record applies the results of an attempt: the DSN for newly bounced
// recipients is queued first, so a crash cannot lose it.
func (r *runner) record(rt *route, env *queue.Envelope, res map[string]*deliver.Error) Outcome {
	now := time.Now()
	probe := env.Clone()
	bounced := applyResults(&probe, res, now, rt)
	var dsnErr error
	if len(bounced) > 0 {
		dsnErr = r.m.bounce(&probe, bounced)
	}
	updated, err := r.m.q.Update(env.ID, func(e *queue.Envelope) {
		applyResults(e, res, now, rt)
		if dsnErr != nil {
			awaitDSN(e, bounced, dsnErr)
		}
	})
	if err != nil && !errors.Is(err, queue.ErrNotFound) {
		r.m.log.Error("cannot record delivery result", "event", "mail.record_failed", "id", env.ID, "error", err)
	}
	if errors.Is(err, queue.ErrNotFound) {
		updated = probe
	}
	relay := ""
	if t, err := rt.target(env); err == nil {
		relay = t.Addr
	}
	return r.m.logAttempt(rt.name, relay, &updated, res)
}

// applyResults sets each recipient's state from res and schedules the next
// attempt; past give-up time, still-open recipients bounce. It returns the
// recipients that bounced now.
func applyResults(e *queue.Envelope, res map[string]*deliver.Error, now time.Time, rt *route) []*queue.Rcpt {
	e.Attempts++
	e.LastAttempt = now
	e.LastError = ""
	var bounced []*queue.Rcpt
	pol := rt.policy()
	expired := now.Sub(e.Received) >= pol.giveUp
	for _, rc := range e.Rcpts {
		de, tried := res[rc.Addr]
		if !rc.Open() || !tried {
			continue
		}
		switch {
		case de == nil:
			rc.State, rc.Error = queue.Delivered, ""
			continue
		}
		rc.Code = de.Code
		switch {
		case !de.Temporary:
			rc.State, rc.Error = queue.Bounced, de.Reason
		case expired:
			rc.State, rc.Error = queue.Bounced, fmt.Sprintf("gave up after %s in the queue; last error: %s", pol.giveUp, de.Reason)
		default:
			rc.State, rc.Error = queue.Deferred, de.Reason
		}
		if e.LastError == "" {
			e.LastError = rc.Error
		}
		if rc.State == queue.Bounced {
			bounced = append(bounced, rc)
		}
	}
	e.NextAttempt = now.Add(backoff(e.Attempts, pol.every))
	return bounced
}
