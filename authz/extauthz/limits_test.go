package extauthz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/appauthz/appauthz/authz"
)

// repeats is the attack size of the audit: 40,000 repeats of one header
// took 7 s of CPU and ~1 GB with the old quadratic join.
const repeats = 40_000

// headerMapRequest is a GET / in Envoy's raw mode (encode_raw_headers)
// with extra header_map entries after the pseudo-headers.
func headerMapRequest(extra ...*corev3.HeaderValue) *authv3.CheckRequest {
	hs := []*corev3.HeaderValue{
		{Key: ":method", RawValue: []byte("GET")},
		{Key: ":path", RawValue: []byte("/")},
		{Key: ":authority", RawValue: []byte("h")},
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/", HeaderMap: &corev3.HeaderMap{Headers: append(hs, extra...)}},
	}}}
}

// headersRequest is a GET / with a `headers` map.
func headersRequest(hs map[string]string) *authv3.CheckRequest {
	hs[":method"], hs[":path"] = "GET", "/"
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/", Headers: hs},
	}}}
}

// repeatedEntries is n header_map entries of one name.
func repeatedEntries(n int, name, value string) []*corev3.HeaderValue {
	out := make([]*corev3.HeaderValue, n)
	for i := range out {
		out[i] = &corev3.HeaderValue{Key: name, RawValue: []byte(value)}
	}
	return out
}

// caseVariants is n distinct `headers` keys that all lowercase to
// "x-repeated-header-name": the only way to repeat a name in a proto map.
func caseVariants(n int, value string) map[string]string {
	const name = "x-repeated-header-name" // 19 letters: 2^19 variants
	hs := make(map[string]string, n+2)
	for i := range n {
		b := []byte(name)
		for j, bit := 0, 0; j < len(b); j++ {
			if b[j] >= 'a' && b[j] <= 'z' {
				if i&(1<<bit) != 0 {
					b[j] -= 'a' - 'A'
				}
				bit++
			}
		}
		hs[string(b)] = value
	}
	return hs
}

func TestToRequestLimits(t *testing.T) {
	bigValue := strings.Repeat("v", 40<<10)
	manyBig := map[string]string{}
	for i := range 7 { // 7 × 40 KiB > 256 KiB
		manyBig[fmt.Sprintf("x-big-%d", i)] = bigValue
	}
	tests := map[string]struct {
		cr      *authv3.CheckRequest
		wantErr string // "" means accepted
	}{
		"40,000 repeats in header_map": {
			cr:      headerMapRequest(repeatedEntries(repeats, "x-dup", "v")...),
			wantErr: "40003 header fields, at most 500 are accepted",
		},
		"40,000 case variants of one name in headers": {
			cr:      headersRequest(caseVariants(repeats, "v")),
			wantErr: "40002 header fields, at most 500 are accepted",
		},
		"header_map at the count limit": {
			cr: headerMapRequest(repeatedEntries(DefaultMaxHeaders-3, "x-dup", "v")...),
		},
		"header_map one over the count limit": {
			cr:      headerMapRequest(repeatedEntries(DefaultMaxHeaders-2, "x-dup", "v")...),
			wantErr: "501 header fields",
		},
		"280 KiB of header values in headers": {
			cr:      headersRequest(manyBig),
			wantErr: "bytes of header names and values, at most 262144 are accepted",
		},
		"one 300 KiB header_map value": {
			cr:      headerMapRequest(&corev3.HeaderValue{Key: "cookie", RawValue: []byte(strings.Repeat("c", 300<<10))}),
			wantErr: "at most 262144 are accepted",
		},
		"header_map bytes counted from value when raw_value is empty": {
			cr:      headerMapRequest(&corev3.HeaderValue{Key: "cookie", Value: strings.Repeat("c", 300<<10)}),
			wantErr: "at most 262144 are accepted",
		},
		"200 KiB of headers is accepted": {
			cr: headersRequest(map[string]string{"cookie": strings.Repeat("c", 200<<10)}),
		},
		"501 context extensions": {
			cr: func() *authv3.CheckRequest {
				cr := headerMapRequest()
				cr.Attributes.ContextExtensions = map[string]string{}
				for i := range DefaultMaxHeaders + 1 {
					cr.Attributes.ContextExtensions[fmt.Sprint("k", i)] = "v"
				}
				return cr
			}(),
			wantErr: "501 context extensions, at most 500",
		},
		"300 KiB path": {
			cr: &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
				Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/?" + strings.Repeat("a=1&", 75<<10)},
			}}},
			wantErr: "the path and query are",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := ToRequest(tc.cr)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ToRequest: %v; want accepted", err)
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ToRequest = %v, %v; want ErrTooLarge containing %q", r, err, tc.wantErr)
			}
		})
	}
}

// noLimits lets the join itself be measured on the attack's size.
var noLimits = Limits{MaxHeaders: 1 << 30, MaxHeaderBytes: 1 << 30}

// allocatedBytes is how many bytes f allocates on the heap.
func allocatedBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Joining repeats is linear: with the limits lifted, 40,000 repeats give
// the joined value Envoy would send and allocate a bounded number of bytes
// per entry. The old code built every intermediate string: ~3 GB here.
func TestJoinRepeatsLinear(t *testing.T) {
	want := strings.Repeat("v,", repeats-1) + "v"
	tests := map[string]struct {
		cr  func() *authv3.CheckRequest
		key string
	}{
		"header_map": {func() *authv3.CheckRequest { return headerMapRequest(repeatedEntries(repeats, "X-Dup", "v")...) }, "x-dup"},
		"headers":    {func() *authv3.CheckRequest { return headersRequest(caseVariants(repeats, "v")) }, "x-repeated-header-name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cr := tc.cr()
			var r *authz.Request
			var err error
			n := allocatedBytes(func() { r, err = ToRequestContext(context.Background(), cr, noLimits) })
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Headers[tc.key]; got != want {
				t.Fatalf("%s = %d bytes; want %d repeats joined with ','", tc.key, len(got), repeats)
			}
			// A few map entries, slices and the joined value: well under
			// 1 KiB per repeat. Quadratic joining would need ~80 KiB each.
			if limit := uint64(1024 * repeats); n > limit {
				t.Errorf("converting %d repeats allocated %d bytes; want at most %d (linear)", repeats, n, limit)
			}
		})
	}
}

// Allocation counts grow with the number of repeats, not with its square.
func TestJoinRepeatsAllocsProportional(t *testing.T) {
	allocs := func(n int) float64 {
		cr := headerMapRequest(repeatedEntries(n, "x-dup", "v")...)
		return testing.AllocsPerRun(5, func() {
			if _, err := ToRequestContext(context.Background(), cr, noLimits); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(1000), allocs(10_000)
	if large > 12*small {
		t.Errorf("allocs: %v for 1,000 repeats, %v for 10,000; want at most ~10× (linear)", small, large)
	}
}

// countdownCtx is cancelled after its Err has been asked n times: it shows
// that the conversion looks at the context while it works, not only first.
type countdownCtx struct {
	context.Context
	n     atomic.Int64
	calls atomic.Int64
}

func (c *countdownCtx) Err() error {
	c.calls.Add(1)
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func TestToRequestContextCancelled(t *testing.T) {
	t.Run("before any work", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := ToRequestContext(ctx, headerMapRequest(), Limits{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v; want context.Canceled", err)
		}
	})
	t.Run("during the conversion", func(t *testing.T) {
		ctx := &countdownCtx{Context: context.Background()}
		ctx.n.Store(3) // the first look, then two during the loop
		_, err := ToRequestContext(ctx, headerMapRequest(repeatedEntries(repeats, "x-dup", "v")...), noLimits)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v; want context.Canceled", err)
		}
		if calls := ctx.calls.Load(); calls != 4 {
			t.Errorf("ctx.Err called %d times; want 4 (stopped at the first look after cancel)", calls)
		}
	})
}

// Through the real gRPC server: a request over a limit is a BadRequest
// deny that never reaches the decider, and a Check whose caller has gone
// is answered "too late" without converting it.
func TestServerLimits(t *testing.T) {
	var decided atomic.Int64
	d := deciderFunc(func(ctx context.Context, r *authz.Request) authz.Decision {
		decided.Add(1)
		return authz.Decision{Allow: true, Reason: authz.ReasonOK}
	})
	h := startServer(t, d, slog.LevelInfo)
	for name, cr := range map[string]*authv3.CheckRequest{
		"header_map": headerMapRequest(repeatedEntries(repeats, "x-dup", "v")...),
		"headers":    headersRequest(caseVariants(repeats, "v")),
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := h.client.Check(context.Background(), cr)
			if err != nil {
				t.Fatalf("Check: %v; want a deny, not an RPC error", err)
			}
			den := resp.GetDeniedResponse()
			if den.GetStatus().GetCode() != typev3.StatusCode_BadRequest ||
				!strings.Contains(den.GetBody(), `"code":"BadRequest"`) ||
				!strings.Contains(den.GetBody(), "header fields, at most 500 are accepted") {
				t.Fatalf("Check = %v; want a 400 BadRequest naming the header limit", resp)
			}
		})
	}
	t.Run("caller gone", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		resp, err := h.srv.Check(ctx, headerMapRequest())
		if err != nil {
			t.Fatal(err)
		}
		den := resp.GetDeniedResponse()
		if den.GetStatus().GetCode() != typev3.StatusCode_ServiceUnavailable || !strings.Contains(den.GetBody(), "StoreUnavailable") {
			t.Fatalf("Check with a cancelled context = %v; want a 503 StoreUnavailable deny", resp)
		}
	})
	t.Run("custom limits", func(t *testing.T) {
		srv, err := NewServer(d, WithLogger(slog.New(slog.DiscardHandler)), WithLimits(Limits{MaxHeaders: 4}))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Check(context.Background(), headerMapRequest(repeatedEntries(2, "x-dup", "v")...))
		if err != nil || !strings.Contains(resp.GetDeniedResponse().GetBody(), "5 header fields, at most 4") {
			t.Fatalf("Check = %v, %v; want a BadRequest at 4 headers", resp, err)
		}
	})
	if n := decided.Load(); n != 0 {
		t.Errorf("the decider ran %d times; want 0 (every request was over a limit or abandoned)", n)
	}
}
