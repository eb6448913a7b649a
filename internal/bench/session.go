package bench

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// connectGrace is added to the session timeout to bound the wait for a new session.
const connectGrace = 5 * time.Second

// errNoSession is returned when a session is not established in time.
var errNoSession = errors.New("bench: session not established")

// zkLogger adapts Config.Logf to go-zookeeper's Logger; nil discards.
type zkLogger func(format string, args ...any)

func (l zkLogger) Printf(format string, args ...any) {
	if l != nil {
		l(format, args...)
	}
}

// dial opens one session and waits until the server has granted it.
func dial(ctx context.Context, c *Config) (*zk.Conn, error) {
	conn, evc, err := zk.Connect(c.Servers, c.SessionTimeout,
		zk.WithLogger(zkLogger(c.Logf)), zk.WithLogInfo(false))
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(c.SessionTimeout + connectGrace)
	defer t.Stop()
	for {
		select {
		case ev, ok := <-evc:
			if !ok {
				return nil, fmt.Errorf("%w: connection closed", errNoSession)
			}
			if ev.Type == zk.EventSession && ev.State == zk.StateHasSession {
				return conn, nil
			}
		case <-t.C:
			conn.Close()
			return nil, fmt.Errorf("%w within %v (servers %v); is the server up, and does its maxClientCnxns "+
				"(sessions per client address, 60 by default; 0 = no limit) allow this many sessions?",
				errNoSession, c.SessionTimeout+connectGrace, c.Servers)
		case <-ctx.Done():
			conn.Close()
			return nil, ctx.Err()
		}
	}
}

// dialAll opens n sessions, at most par at a time, counting them in done (if not nil).
// On error it closes those it opened.
func dialAll(ctx context.Context, c *Config, n, par int, done *atomic.Int64) ([]*zk.Conn, error) {
	conns := make([]*zk.Conn, n)
	err := parallel(ctx, n, par, done, func(_, i int) error {
		conn, err := dial(ctx, c)
		conns[i] = conn
		return err
	})
	if err != nil {
		closeAll(conns)
		return nil, err
	}
	return conns, nil
}

// closeAll closes every non-nil session, concurrently: go-zookeeper's Close waits for the
// server to acknowledge closeSession.
func closeAll(conns []*zk.Conn) {
	var wg sync.WaitGroup
	for _, c := range conns {
		if c != nil {
			wg.Go(c.Close)
		}
	}
	wg.Wait()
}

// parallel calls fn(w, i) for every i in [0, n) from par goroutines (w is the goroutine's
// index) and returns the first error, after which no new calls start. done, if not nil,
// counts the calls that succeeded.
func parallel(ctx context.Context, n, par int, done *atomic.Int64, fn func(w, i int) error) error {
	par = max(1, min(par, n))
	var next atomic.Int64
	var first error
	var once sync.Once
	var failed atomic.Bool
	var wg sync.WaitGroup
	for w := range par {
		wg.Go(func() {
			for !failed.Load() {
				if err := ctx.Err(); err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
					return
				}
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(w, i); err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
					return
				}
				if done != nil {
					done.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return first
}

// deleteTree deletes root and everything under it, using the sessions round robin with
// par requests in flight: it lists the tree level by level, then deletes the levels
// deepest first. A znode that vanished meanwhile is not an error.
func deleteTree(ctx context.Context, conns []*zk.Conn, root string, par int, done *atomic.Int64) error {
	levels := [][]string{{root}}
	for {
		cur := levels[len(levels)-1]
		kids := make([][]string, len(cur))
		err := parallel(ctx, len(cur), par, nil, func(w, i int) error {
			names, _, err := conns[w%len(conns)].Children(cur[i])
			if errors.Is(err, zk.ErrNoNode) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("listing %s: %w", cur[i], err)
			}
			for _, n := range names {
				kids[i] = append(kids[i], path.Join(cur[i], n))
			}
			return nil
		})
		if err != nil {
			return err
		}
		var next []string
		for _, k := range kids {
			next = append(next, k...)
		}
		if len(next) == 0 {
			break
		}
		levels = append(levels, next)
	}
	for i := len(levels) - 1; i >= 0; i-- {
		lv := levels[i]
		err := parallel(ctx, len(lv), par, done, func(w, j int) error {
			err := conns[w%len(conns)].Delete(lv[j], -1)
			if err != nil && !errors.Is(err, zk.ErrNoNode) {
				return fmt.Errorf("deleting %s: %w", lv[j], err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
