package e2e

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// scanRedisFor reads every key of Redis, whatever its type, and fails if a
// name or value holds one of secrets (app secrets, AppCodes, tokens) or
// the master key in any usual encoding: a Redis dump alone must never
// reveal a usable credential.
func scanRedisFor(t *testing.T, srv testRedis, secrets []string) {
	t.Helper()
	var dump strings.Builder
	n := 0
	for _, rdb := range srv.masters(t) {
		n += dumpNode(t, rdb, &dump)
	}
	text := dump.String()
	if n == 0 || !strings.Contains(text, "v1:") {
		t.Fatalf("the scan found %d keys and no sealed secret: it is not reading the store", n)
	}
	forms := func(s string) []string {
		return []string{s, strings.ToLower(s), strings.ToUpper(s), base64.StdEncoding.EncodeToString([]byte(s)), hex.EncodeToString([]byte(s))}
	}
	for i, s := range secrets {
		for _, f := range forms(s) {
			if strings.Contains(text, f) {
				t.Errorf("credential #%d (%s…) is readable in Redis", i, s[:4])
			}
		}
	}
	for _, f := range []string{string(masterKey.key), hex.EncodeToString(masterKey.key), base64.StdEncoding.EncodeToString(masterKey.key), base64.RawURLEncoding.EncodeToString(masterKey.key)} {
		if strings.Contains(text, f) {
			t.Errorf("the master key is readable in Redis")
		}
	}
	t.Logf("scanned %d Redis keys for %d credentials", n, len(secrets))
}

// dumpNode writes every key of one node and its values to dump and
// returns how many keys it read.
func dumpNode(t *testing.T, rdb *redis.Client, dump *strings.Builder) int {
	t.Helper()
	ctx := t.Context()
	n := 0
	iter := rdb.Scan(ctx, 0, "*", 500).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		n++
		dump.WriteString(k + "\n")
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		var vals []string
		switch typ {
		case "string":
			vals = []string{rdb.Get(ctx, k).Val()}
		case "hash":
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				vals = append(vals, f, v)
			}
		case "set":
			vals = rdb.SMembers(ctx, k).Val()
		case "zset":
			vals = rdb.ZRange(ctx, k, 0, -1).Val()
		case "list":
			vals = rdb.LRange(ctx, k, 0, -1).Val()
		default:
			t.Fatalf("key %s has type %s: teach scanRedisFor to read it", k, typ)
		}
		dump.WriteString(strings.Join(vals, "\n") + "\n")
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}
