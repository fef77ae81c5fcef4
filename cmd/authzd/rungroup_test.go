package main

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
)

// TestRunGroupStopOrder: stops run stage by stage (a stage's stops all
// return before the next starts), whether a signal or a failing serve ends
// the run, and the failing serve's error is returned.
func TestRunGroupStopOrder(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name      string
		fail      bool
		wantCause error
	}{
		{"signal", false, nil},
		{"serve fails", true, boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var order []string
			note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if !tc.fail {
				cancel()
			}
			var g runGroup
			// A serve that blocks until its stop, like gRPC's Serve.
			blocking := func(name string, stage int) {
				quit := make(chan struct{})
				g.add(stage, func() error { <-quit; return nil }, func() { note(name); close(quit) })
			}
			g.add(0, nil, func() { note("drain") })
			blocking("grpc", 1)
			// The HTTP authorization listener: fails at once when tc.fail.
			grpcDone := make(chan struct{})
			g.add(1, func() error {
				if tc.fail {
					return boom
				}
				<-grpcDone
				return nil
			}, func() { note("authz"); close(grpcDone) })
			blocking("http", 2)
			var cause error
			err := g.run(ctx, func(c error) { cause = c })
			if !errors.Is(err, tc.wantCause) || !errors.Is(cause, tc.wantCause) {
				t.Fatalf("run = %v, stopping(%v); want %v", err, cause, tc.wantCause)
			}
			if order[0] != "drain" || order[3] != "http" || !slices.Contains(order[1:3], "grpc") || !slices.Contains(order[1:3], "authz") {
				t.Fatalf("stop order %v: want drain, then grpc and authz, then http", order)
			}
		})
	}
}

// TestRunGroupCloseListeners: close releases every listener opened through
// the group, so an early return of run leaves no port bound.
func TestRunGroupCloseListeners(t *testing.T) {
	var g runGroup
	a, err := g.listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.close()
	for _, l := range []interface{ Addr() net.Addr }{a, b} {
		ln, err := net.Listen("tcp", l.Addr().String())
		if err != nil {
			t.Fatalf("port %s still bound after close: %v", l.Addr(), err)
		}
		ln.Close()
	}
}
