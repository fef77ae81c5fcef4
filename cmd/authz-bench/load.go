package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/authz/sign"
)

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// checkMethod is Envoy's ext_authz RPC.
const checkMethod = "/envoy.service.auth.v3.Authorization/Check"

// generator hands out marshaled CheckRequests. Requests are built and
// marshaled before the clock starts, so the load generator's own cost per
// Check is the gRPC call alone.
type generator struct {
	reqs   [][]byte
	next   atomic.Int64
	unique bool // each request may be used once (signatures)
}

func (g *generator) get() []byte {
	i := g.next.Add(1) - 1
	return g.reqs[int(i%int64(len(g.reqs)))]
}

// exhausted reports whether a single-use pool ran out: further requests
// would be replays.
func (g *generator) exhausted() bool {
	return g.unique && g.next.Load() >= int64(len(g.reqs))
}

// envoyHeaders are what a typical client sends, plus what Envoy adds.
func envoyHeaders(h http.Header) http.Header {
	h.Set("Accept", "application/json")
	h.Set("User-Agent", "okhttp/4.12.0")
	h.Set("Accept-Encoding", "gzip")
	h.Set("X-Forwarded-For", "203.0.113.7")
	h.Set("X-Request-Id", "6c8e1b5c-8f0e-4a44-9b0e-2f4f2b9c6d11")
	return h
}

func marshalReq(r extauthz.HTTPRequest) ([]byte, error) {
	r.ContextExtensions = map[string]string{"api": "bench"}
	r.Header = envoyHeaders(r.Header)
	cr, err := extauthz.NewCheckRequest(r)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(cr)
}

func newGenerator(method string, c config, f fixture) (*generator, error) {
	g := &generator{}
	const host = "api.example.com"
	add := func(r extauthz.HTTPRequest) error {
		b, err := marshalReq(r)
		g.reqs = append(g.reqs, b)
		return err
	}
	switch method {
	case "appcode":
		return g, add(extauthz.HTTPRequest{Method: "GET", URL: "http://" + host + "/v1/orders?page=2", Header: http.Header{"Authorization": {"APPCODE " + f.appCode}}})
	case "key":
		// Spread over the active keys, spaced evenly through all of them.
		step := max(1, len(f.keys)/c.activeKeys)
		for i := 0; i < c.activeKeys; i++ {
			if err := add(extauthz.HTTPRequest{Method: "GET", URL: "http://" + host + "/v1/orders?page=2", Header: http.Header{"X-App-Key": {f.keys[i*step]}}}); err != nil {
				return nil, err
			}
		}
		return g, nil
	case "hmac", "paramsign":
		g.unique = true
		now := time.Now()
		for i := range c.presign {
			uri := "/v1/orders?page=" + strconv.Itoa(i)
			var r extauthz.HTTPRequest
			if method == "hmac" {
				s, err := sign.HMAC{Key: f.keys[0], Secret: f.secret, Now: now}.Sign(sign.HMACRequest{Method: "GET", RequestURI: uri, Host: host})
				if err != nil {
					return nil, err
				}
				h := http.Header{}
				s.Apply(h)
				r = extauthz.HTTPRequest{Method: "GET", URL: "http://" + host + uri, Header: h}
			} else {
				s, err := sign.Params{Key: f.keys[0], Secret: f.secret, Timestamp: now}.Sign(sign.ParamRequest{URL: "http://" + host + uri}, sign.InQuery)
				if err != nil {
					return nil, err
				}
				r = extauthz.HTTPRequest{Method: "GET", URL: s.URL, Header: http.Header{}}
			}
			if err := add(r); err != nil {
				return nil, err
			}
		}
		return g, nil
	}
	return nil, fmt.Errorf("unknown method %q: use appcode, key, hmac or paramsign", method)
}

// rawCodec sends pre-marshaled requests and keeps answers as bytes; it is
// named "proto" so the wire content type stays application/grpc+proto.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return v.([]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append((*(v.(*[]byte)))[:0], data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// allowed reads CheckResponse.status.code from the wire: 0 (or absent)
// is an allow.
func allowed(resp []byte) (bool, error) {
	for len(resp) > 0 {
		num, typ, n := protowire.ConsumeTag(resp)
		if n < 0 {
			return false, errors.New("bad response")
		}
		resp = resp[n:]
		if num == 1 && typ == protowire.BytesType {
			status, n := protowire.ConsumeBytes(resp)
			if n < 0 {
				return false, errors.New("bad status")
			}
			for len(status) > 0 {
				fnum, ftyp, m := protowire.ConsumeTag(status)
				if m < 0 {
					return false, errors.New("bad status")
				}
				status = status[m:]
				if fnum == 1 && ftyp == protowire.VarintType {
					code, _ := protowire.ConsumeVarint(status)
					return code == 0, nil
				}
				m = protowire.ConsumeFieldValue(fnum, ftyp, status)
				if m < 0 {
					return false, errors.New("bad status")
				}
				status = status[m:]
			}
			return true, nil
		}
		n = protowire.ConsumeFieldValue(num, typ, resp)
		if n < 0 {
			return false, errors.New("bad response")
		}
		resp = resp[n:]
	}
	return true, nil
}

type result struct {
	rate               float64
	p50, p90, p99, max time.Duration
	errors             int64
	firstError         string
	cpu                time.Duration
	peakRSS            int64
}

// drive runs c.concurrency closed-loop callers for the warm-up, then for
// c.duration while recording every latency.
func drive(ctx context.Context, e *env, g *generator, c config) (result, error) {
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		errs      atomic.Int64
		firstErr  atomic.Pointer[string]
		wg        sync.WaitGroup
		lat       = make([][]time.Duration, c.concurrency)
	)
	codec := grpc.ForceCodec(rawCodec{})
	for w := range c.concurrency {
		lat[w] = make([]time.Duration, 0, 1<<16)
		cc := e.conns[w%len(e.conns)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var resp []byte
			for !stop.Load() && ctx.Err() == nil {
				if g.exhausted() {
					return
				}
				req := g.get()
				start := time.Now()
				err := cc.Invoke(ctx, checkMethod, req, &resp, codec)
				elapsed := time.Since(start)
				ok := false
				if err == nil {
					ok, err = allowed(resp)
				}
				if !ok {
					if err == nil {
						err = errors.New("denied")
					}
					if errs.Add(1) == 1 {
						s := err.Error()
						firstErr.Store(&s)
					}
				}
				if measuring.Load() {
					lat[w] = append(lat[w], elapsed)
				}
			}
		}()
	}
	pid := e.authzd.Process.Pid
	sleep(ctx, c.warmup)
	cpu0, _, err := procStats(pid)
	if err != nil {
		stop.Store(true)
		wg.Wait()
		return result{}, err
	}
	errs.Store(0)
	firstErr.Store(nil)
	measuring.Store(true)
	start := time.Now()
	sleep(ctx, c.duration)
	measuring.Store(false)
	elapsed := time.Since(start)
	cpu1, rss, err := procStats(pid)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		return result{}, err
	}
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return result{}, errors.New("no Check completed")
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	r := result{
		rate: float64(len(all)) / elapsed.Seconds(),
		p50:  pct(.50), p90: pct(.90), p99: pct(.99), max: all[len(all)-1],
		errors: errs.Load(), cpu: cpu1 - cpu0, peakRSS: rss,
	}
	if s := firstErr.Load(); s != nil {
		r.firstError = *s
	}
	if g.exhausted() {
		r.firstError = "the presigned requests ran out before the end: raise --presign (" + r.firstError + ")"
	}
	return r, nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
