package main

import (
	"context"
	"net"
	"sync"
)

// runGroup runs authzd's servers as (serve, stop) pairs and owns the
// listeners they serve on, so an early return of run closes every listener
// opened so far by one deferred close instead of a Close on each path.
//
// Stops run in stages once ctx ends or any serve returns: the stops of one
// stage concurrently, the next stage after they have all returned. That is
// how the shutdown order is kept: health NOT_SERVING and the drain delay,
// then the gRPC and HTTP authorization listeners together, then the HTTP
// listener (health, metrics, tokens) last.
type runGroup struct {
	listeners []net.Listener
	members   []member
}

type member struct {
	serve func() error // nil: nothing to run, only a stop
	stop  func()
	stage int
}

// listen opens a TCP listener that close will close if run returns before
// (or after) a server takes it over; closing a served listener again is
// harmless.
func (g *runGroup) listen(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	g.own(l)
	return l, nil
}

// own hands a listener opened elsewhere to the group.
func (g *runGroup) own(l net.Listener) {
	if l != nil {
		g.listeners = append(g.listeners, l)
	}
}

// close closes every listener the group owns.
func (g *runGroup) close() {
	for _, l := range g.listeners {
		_ = l.Close()
	}
}

// add registers serve, which runs until stop (called in stage) makes it
// return. A serve that returns before the shutdown starts it, and its error
// is what run returns; serve must return nil when stopped.
func (g *runGroup) add(stage int, serve func() error, stop func()) {
	g.members = append(g.members, member{serve: serve, stop: stop, stage: stage})
}

// run starts every serve, waits until ctx ends or a serve returns, tells
// stopping why (nil: ctx ended), then runs the stops stage by stage. It
// returns the error of the serve that ended it, if one did.
func (g *runGroup) run(ctx context.Context, stopping func(cause error)) error {
	errs := make(chan error, len(g.members))
	for _, m := range g.members {
		if m.serve == nil {
			continue
		}
		go func() { errs <- m.serve() }()
	}
	var failure error
	select {
	case <-ctx.Done():
	case failure = <-errs:
	}
	stopping(failure)
	last := 0
	for _, m := range g.members {
		last = max(last, m.stage)
	}
	for stage := 0; stage <= last; stage++ {
		var wg sync.WaitGroup
		for _, m := range g.members {
			if m.stage == stage && m.stop != nil {
				wg.Go(m.stop)
			}
		}
		wg.Wait()
	}
	return failure
}
