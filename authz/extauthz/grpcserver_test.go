package extauthz

import (
	"log/slog"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
)

// serverSettings connects to a gRPC server built by NewGRPCServer with
// extra and returns the HTTP/2 SETTINGS it announces: what Envoy reads.
func serverSettings(t *testing.T, extra ...grpc.ServerOption) map[http2.SettingID]uint32 {
	t.Helper()
	srv, err := NewServer(deciderFunc(nil), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	gs := NewGRPCServer(srv, health.NewServer(), extra...)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	conn, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // a hung server fails the test instead of hanging it
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the server's SETTINGS: %v", err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			out := map[http2.SettingID]uint32{}
			_ = sf.ForeachSetting(func(s http2.Setting) error { out[s.ID] = s.Val; return nil })
			return out
		}
	}
}

func TestGRPCServerMaxConcurrentStreams(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		got, ok := serverSettings(t)[http2.SettingMaxConcurrentStreams]
		if !ok || got != MaxConcurrentStreams {
			t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS = %d (sent %v); want %d", got, ok, MaxConcurrentStreams)
		}
	})
	t.Run("an extra option wins", func(t *testing.T) {
		if got := serverSettings(t, grpc.MaxConcurrentStreams(64))[http2.SettingMaxConcurrentStreams]; got != 64 {
			t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS = %d; want 64", got)
		}
	})
}
