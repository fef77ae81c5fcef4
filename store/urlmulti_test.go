package store

import (
	"slices"
	"strings"
	"testing"
)

func TestParseMultiURL(t *testing.T) {
	o, err := parseMulti("redis-sentinel://app:p%40ss@10.0.0.1:26379,10.0.0.2:26379/mymaster/2?sentinel_password=sp")
	if err != nil {
		t.Fatal(err)
	}
	if o.MasterName != "mymaster" || o.DB != 2 || o.Username != "app" || o.Password != "p@ss" || o.SentinelPassword != "sp" ||
		!slices.Equal(o.Addrs, []string{"10.0.0.1:26379", "10.0.0.2:26379"}) || o.TLSConfig != nil || o.IsClusterMode {
		t.Errorf("sentinel options: %+v", o)
	}
	o, err = parseMulti("rediss-cluster://[::1]:7000,node2:7001")
	if err != nil {
		t.Fatal(err)
	}
	if !o.IsClusterMode || o.MasterName != "" || !slices.Equal(o.Addrs, []string{"[::1]:7000", "node2:7001"}) || o.TLSConfig == nil || o.TLSConfig.ServerName != "::1" {
		t.Errorf("cluster options: %+v", o)
	}
	if o.MaxRetries != 1 || !o.ContextTimeoutEnabled || o.Protocol != 2 {
		t.Errorf("cluster options not tuned: %+v", o)
	}
}

func TestParseMultiURLErrors(t *testing.T) {
	tests := map[string]struct{ url, message string }{
		"no master":        {"redis-sentinel://h:26379", "names the master"},
		"too deep":         {"redis-sentinel://h:26379/m/0/x", "names the master"},
		"bad db":           {"redis-sentinel://h:26379/m/x", "not a number"},
		"no port":          {"redis-cluster://h1:7000,h2", "host:port"},
		"bad port":         {"redis-cluster://:s3cretpw@h1:99999", "port"},
		"cluster db":       {"redis-cluster://h1:7000/1", "no path"},
		"unknown option":   {"redis-cluster://:s3cretpw@h1:7000?bogus=1", "bogus"},
		"empty host":       {"redis-cluster://h1:7000,,h2:7001", "host:port"},
		"bad user escape":  {"redis-cluster://u:%zz@h1:7000", "user or password"},
		"sentinel via url": {"redis-sentinel://:s3cretpw@h:26379/m?db=1", "db"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := OpenURL(tc.url)
			if err == nil {
				c.Close()
				t.Fatalf("OpenURL(%q) succeeded", tc.url)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not mention %q", err, tc.message)
			}
			if strings.Contains(err.Error(), "s3cretpw") {
				t.Errorf("error %q leaks the password", err)
			}
		})
	}
}
