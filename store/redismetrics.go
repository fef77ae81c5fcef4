package store

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// RedisMetrics is a go-redis hook that measures every round trip: its
// latency and its failures, by operation ("pipeline" for a pipeline or
// MULTI block, otherwise the command name, e.g. "evalsha"). Only real
// failures count, so that an alert on any error does not fire in healthy
// operation (see healthy). Add it with client.AddHook before the client
// is used.
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
		if failed(cmd, err) {
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
		if err := pipelineFailure(cmds, err); err != nil {
			if c := errClass(err); c == "other" {
				m.pipeErr.Inc()
			} else {
				m.errors.WithLabelValues("pipeline", c).Inc()
			}
		}
		return err
	}
}

// pipelineFailure is the error a pipeline counts as, or nil when it went
// as expected: the first real failure of one of its commands, or err
// itself when no command holds one and it is no reply of Redis (a
// connection lost before the commands were sent).
func pipelineFailure(cmds []redis.Cmder, err error) error {
	if err == nil {
		return nil
	}
	for _, c := range cmds {
		if failed(c, c.Err()) {
			return c.Err()
		}
	}
	var reply redis.Error
	if healthy(nil, err) || errors.As(err, &reply) {
		return nil
	}
	return err
}

// failed says whether cmd's err is a real failure.
func failed(cmd redis.Cmder, err error) bool { return err != nil && !healthy(cmd, err) }

// healthy names the error replies of normal operation:
//   - redis.Nil: an answer ("no such record");
//   - NOSCRIPT: EVALSHA of a script Redis has not cached yet (after a
//     start, restart or SCRIPT FLUSH); go-redis then sends EVAL;
//   - redis.TxFailedErr: a WATCH conflict, which the store retries;
//   - CLIENT SETINFO refused: go-redis sends it on every new connection
//     and ignores the answer; Redis before 7.2 does not know it.
func healthy(cmd redis.Cmder, err error) bool {
	switch {
	case errors.Is(err, redis.Nil), errors.Is(err, redis.TxFailedErr), redis.HasErrorPrefix(err, "NOSCRIPT"):
		return true
	}
	var reply redis.Error
	return cmd != nil && isClientSetInfo(cmd) && errors.As(err, &reply)
}

func isClientSetInfo(cmd redis.Cmder) bool {
	args := cmd.Args()
	if len(args) < 2 || cmd.Name() != "client" {
		return false
	}
	sub, _ := args[1].(string)
	return strings.EqualFold(sub, "setinfo")
}

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
