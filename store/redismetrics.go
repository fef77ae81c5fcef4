package store

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// RedisMetrics is a go-redis hook that measures every round trip: its
// latency and its failures, by operation ("pipeline" for a pipeline or
// MULTI block, otherwise the command name, e.g. "evalsha"). redis.Nil is
// an answer ("no such record"), not a failure. Add it with
// client.AddHook before the client is used.
type RedisMetrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	pipeDur  prometheus.Observer
	pipeErr  prometheus.Counter
}

var _ redis.Hook = (*RedisMetrics)(nil)

// NewRedisMetrics creates the metrics and registers them on reg.
func NewRedisMetrics(reg prometheus.Registerer) (*RedisMetrics, error) {
	m := &RedisMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "appauthz_redis_duration_seconds",
			Help:    "Redis round trips by operation (pipeline, or the command name), from send to answer.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "appauthz_redis_errors_total",
			Help: "Redis round trips that failed, by operation and class (timeout, network, other).",
		}, []string{"op", "class"}),
	}
	m.pipeDur = m.duration.WithLabelValues("pipeline")
	m.pipeErr = m.errors.WithLabelValues("pipeline", "other")
	if reg != nil {
		for _, c := range []prometheus.Collector{m.duration, m.errors} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// DialHook passes dials through; a failed dial shows as the failed
// command that needed the connection.
func (m *RedisMetrics) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook measures one command.
func (m *RedisMetrics) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		op := cmd.Name()
		m.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
		if failed(err) {
			m.errors.WithLabelValues(op, errClass(err)).Inc()
		}
		return err
	}
}

// ProcessPipelineHook measures one pipeline.
func (m *RedisMetrics) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		m.pipeDur.Observe(time.Since(start).Seconds())
		if failed(err) {
			if c := errClass(err); c == "other" {
				m.pipeErr.Inc()
			} else {
				m.errors.WithLabelValues("pipeline", c).Inc()
			}
		}
		return err
	}
}

func failed(err error) bool { return err != nil && !errors.Is(err, redis.Nil) }

// errClass sorts a failure for the errors counter: a bounded label set.
func errClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &ne):
		return "network"
	}
	return "other"
}
