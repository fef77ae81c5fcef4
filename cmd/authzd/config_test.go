package main

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	tests := map[string]struct {
		args []string
		env  map[string]string
		want func(c Config) bool
	}{
		"defaults": {
			want: func(c Config) bool {
				return c.GRPCAddr == ":9001" && c.HTTPAddr == ":8081" && c.RedisURL == "redis://127.0.0.1:6379/0" &&
					!c.Dev && c.LogLevel == slog.LevelInfo && c.RedisTimeout == 250*time.Millisecond
			},
		},
		"flags": {
			args: []string{"--grpc-addr", "10.0.0.1:9100", "--http-addr=:9200", "--redis-url", "rediss://u:p@redis:6380/2",
				"--log-level", "debug", "--redis-timeout", "400ms"},
			want: func(c Config) bool {
				return c.GRPCAddr == "10.0.0.1:9100" && c.HTTPAddr == ":9200" && c.RedisURL == "rediss://u:p@redis:6380/2" &&
					c.LogLevel == slog.LevelDebug && c.RedisTimeout == 400*time.Millisecond
			},
		},
		"env": {
			env: map[string]string{"AUTHZ_GRPC_ADDR": ":7001", "AUTHZ_REDIS_URL": "redis://r:6379/1", "AUTHZ_LOG_LEVEL": "warn",
				"AUTHZ_REDIS_TIMEOUT": "1s", "AUTHZ_DEV": "false"},
			want: func(c Config) bool {
				return c.GRPCAddr == ":7001" && c.RedisURL == "redis://r:6379/1" && c.LogLevel == slog.LevelWarn &&
					c.RedisTimeout == time.Second && !c.Dev
			},
		},
		"a flag wins over its variable": {
			args: []string{"--grpc-addr", ":7002"},
			env:  map[string]string{"AUTHZ_GRPC_ADDR": ":7001"},
			want: func(c Config) bool { return c.GRPCAddr == ":7002" },
		},
		"--dev moves default listeners to loopback": {
			args: []string{"--dev"},
			want: func(c Config) bool { return c.Dev && c.GRPCAddr == "127.0.0.1:9001" && c.HTTPAddr == "127.0.0.1:8081" },
		},
		"--dev keeps addresses set explicitly": {
			args: []string{"--dev", "--grpc-addr", ":9301"},
			env:  map[string]string{"AUTHZ_HTTP_ADDR": "0.0.0.0:9302"},
			want: func(c Config) bool { return c.GRPCAddr == ":9301" && c.HTTPAddr == "0.0.0.0:9302" },
		},
		"AUTHZ_DEV=true": {
			env:  map[string]string{"AUTHZ_DEV": "true"},
			want: func(c Config) bool { return c.Dev && c.GRPCAddr == "127.0.0.1:9001" },
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			c, err := loadConfig(tc.args, func(k string) string { return tc.env[k] }, &stderr)
			if err != nil {
				t.Fatalf("loadConfig: %v\n%s", err, stderr.String())
			}
			if !tc.want(c) {
				t.Errorf("config = %+v", c)
			}
		})
	}
}

// Every problem is reported at once, each naming the flag.
func TestLoadConfigReportsAllProblems(t *testing.T) {
	env := map[string]string{"AUTHZ_REDIS_TIMEOUT": "soon", "AUTHZ_REDIS_URL": "mysql://root:hunter2@db/0"}
	args := []string{"--grpc-addr", "nohostport", "--http-addr", ":99999", "--log-level", "loud", "--shutdown-timeout", "0s"}
	var stderr bytes.Buffer
	_, err := loadConfig(args, func(k string) string { return env[k] }, &stderr)
	if err == nil {
		t.Fatal("loadConfig accepted a bad configuration")
	}
	msg := err.Error()
	for _, want := range []string{"AUTHZ_REDIS_TIMEOUT", "--grpc-addr", "--http-addr", "--log-level", "--redis-url", "--shutdown-timeout"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %s:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("error shows the Redis password:\n%s", msg)
	}
}

func TestLoadConfigSamePort(t *testing.T) {
	_, err := loadConfig([]string{"--grpc-addr", ":9001", "--http-addr", "127.0.0.1:9001"}, func(string) string { return "" }, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "different ports") {
		t.Fatalf("err = %v; want a port clash", err)
	}
}

func TestLoadConfigUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"unknown flag":  {"--nope"},
		"bad bool":      {"--dev=maybe"},
		"extra operand": {"serve"},
	} {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			_, err := loadConfig(args, func(string) string { return "" }, &stderr)
			if !errors.Is(err, errUsage) {
				t.Fatalf("err = %v; want errUsage", err)
			}
			if !strings.Contains(stderr.String(), "Usage: authzd") {
				t.Errorf("no usage printed:\n%s", stderr.String())
			}
			if code := realMain(args, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{}); code != 2 {
				t.Errorf("exit code = %d; want 2", code)
			}
		})
	}
}

func TestConfigLogValueMasksPassword(t *testing.T) {
	var buf bytes.Buffer
	c := Config{RedisURL: "redis://app:s3cret-pass@redis:6379/0"}
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("start", slog.Any("config", c))
	if strings.Contains(buf.String(), "s3cret-pass") || !strings.Contains(buf.String(), "redis://app:xxxxx@redis:6379/0") {
		t.Errorf("logged config = %s", buf.String())
	}
	if got := maskURL("redis://:pw@[::1"); strings.Contains(got, "pw") {
		t.Errorf("unparsable URL shown as %q", got)
	}
}
