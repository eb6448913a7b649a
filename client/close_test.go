package client_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/tests/harness"
)

// TestCloseConcurrent calls Close from several goroutines at once while requests are in
// flight, and once more afterwards: every call returns only once the client has ended (its
// state is StateClosed), none reports an error, the session is closed on the server (its
// ephemeral node is gone), and the requests end with ErrClosed or, if the connection went
// first, ErrConnectionLoss.
func TestCloseConcurrent(t *testing.T) {
	srv := harness.StartPaddock(t, harness.PaddockOptions{})
	w := connect(t, srv.Addr(), client.Options{})
	c, err := client.Connect(ctx(t), srv.Addr(), client.Options{})
	must(t, err)
	_, err = c.Create(ctx(t), "/close-eph", nil, client.ModeEphemeral, nil)
	must(t, err)

	rctx := ctx(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				_, _, err := c.Exists(rctx, "/")
				if err == nil {
					continue
				}
				if !errors.Is(err, client.ErrClosed) && !errors.Is(err, client.ErrConnectionLoss) {
					t.Errorf("request while closing: %v", err)
				}
				return
			}
		})
	}
	for range 8 {
		wg.Go(func() {
			if err := c.Close(); err != nil {
				t.Errorf("concurrent Close: %v", err)
			}
			if st := c.State(); st != client.StateClosed {
				t.Errorf("Close returned with the client in state %v", st)
			}
		})
	}
	wg.Wait()
	must(t, c.Close())
	for range c.Events() { // closed after the final event
	}
	if ok, _, err := w.Exists(ctx(t), "/close-eph"); err != nil || ok {
		t.Errorf("ephemeral after Close: exists %v, %v", ok, err)
	}
	_, _, err = c.Exists(ctx(t), "/")
	wantErr(t, "request after Close", err, client.ErrClosed)
}
