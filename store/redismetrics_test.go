package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/store/redistest"
)

// metricsClient is a client of a fresh real redis-server, opened as authzd
// opens it, with the metrics hook on a registry of its own.
func metricsClient(t *testing.T) (redis.UniversalClient, *RedisMetrics, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	rdb, err := OpenURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	m, err := NewRedisMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	rdb.AddHook(m)
	return rdb, m, srv
}

// errorsCounted is every series of appauthz_redis_errors_total, as
// op/class=value lines.
func errorsCounted(t *testing.T, m *RedisMetrics) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.errors)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			if s.GetCounter().GetValue() == 0 {
				continue
			}
			l := map[string]string{}
			for _, p := range s.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			out = append(out, l["op"]+"/"+l["class"])
		}
	}
	return strings.Join(out, " ")
}

// Healthy operation counts no error, on the redis-server installed here
// (Debian's 7.0 refuses go-redis's CLIENT SETINFO on every new connection).
func TestRedisMetricsHealthyOperationCountsNothing(t *testing.T) {
	ctx := context.Background()
	rdb, m, _ := metricsClient(t)

	if err := rdb.Ping(ctx).Err(); err != nil { // a new connection: CLIENT SETINFO
		t.Fatal(err)
	}
	script := redis.NewScript("return 7") // EVALSHA: NOSCRIPT, then EVAL
	if n, err := script.Run(ctx, rdb, nil).Int(); err != nil || n != 7 {
		t.Fatalf("script = %d, %v", n, err)
	}
	if err := rdb.Get(ctx, "no-such-key").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET missing = %v, want redis.Nil", err)
	}
	pipe := rdb.Pipeline() // a pipeline ending on redis.Nil
	pipe.Set(ctx, "k", "v", 0)
	pipe.Get(ctx, "no-such-key")
	if _, err := pipe.Exec(ctx); !errors.Is(err, redis.Nil) {
		t.Fatalf("pipeline = %v, want redis.Nil", err)
	}
	// A WATCH conflict, which the store retries.
	err := rdb.Watch(ctx, func(tx *redis.Tx) error {
		if err := rdb.Set(ctx, "w", "other writer", 0).Err(); err != nil {
			return err
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error { return p.Set(ctx, "w", "mine", 0).Err() })
		return err
	}, "w")
	if !errors.Is(err, redis.TxFailedErr) {
		t.Fatalf("watch conflict = %v, want redis.TxFailedErr", err)
	}
	if got := errorsCounted(t, m); got != "" {
		t.Errorf("appauthz_redis_errors_total counted healthy operation: %s", got)
	}
}

// Real failures still count, by operation and class.
func TestRedisMetricsCountsRealFailures(t *testing.T) {
	ctx := context.Background()
	rdb, m, srv := metricsClient(t)

	if err := rdb.Do(ctx, "NOSUCHCOMMAND").Err(); err == nil {
		t.Fatal("unknown command succeeded")
	}
	if err := rdb.Incr(ctx, "k-list").Err(); err != nil {
		t.Fatal(err)
	}
	pipe := rdb.Pipeline()
	pipe.LPush(ctx, "k-list", "x") // WRONGTYPE
	if _, err := pipe.Exec(ctx); err == nil {
		t.Fatal("LPUSH on a string succeeded")
	}
	if err := redis.NewScript("return redis.call('nosuch')").Run(ctx, rdb, nil).Err(); err == nil {
		t.Fatal("a failing script succeeded")
	}
	if got, want := errorsCounted(t, m), "eval/other nosuchcommand/other pipeline/other"; got != want {
		t.Errorf("errors counted %q, want %q", got, want)
	}
	srv.Stop()
	if err := rdb.Get(ctx, "k").Err(); err == nil {
		t.Fatal("GET with Redis stopped succeeded")
	}
	if got := errorsCounted(t, m); !strings.Contains(got, "get/network") {
		t.Errorf("errors counted %q, want get/network among them", got)
	}
}
