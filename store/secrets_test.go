package store

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/authz"
)

// AppCodes are kept as SHA-256 only: after creating apps and resetting an
// AppCode, no key name or value anywhere in Redis holds one in clear.
func TestAppCodeNeverStoredInClear(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	var codes []string
	for i := range 3 {
		a, err := s.CreateApp(ctx, CreateAppParams{Name: fmt.Sprintf("app %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, a.AppCode)
		if _, err := s.CreateKey(ctx, CreateKeyParams{AppID: a.AppID, Scopes: []string{"s"}}); err != nil {
			t.Fatal(err)
		}
	}
	imported, err := s.CreateApp(ctx, CreateAppParams{Name: "imported", AppCode: "3F2504E04F8911D39A0C0305E82C3301"})
	if err != nil {
		t.Fatal(err)
	}
	codes = append(codes, imported.AppCode)
	reset, err := s.ResetAppCode(ctx, imported.AppID, "")
	if err != nil {
		t.Fatal(err)
	}
	codes = append(codes, reset)

	dump := dumpRedis(t, s)
	if !strings.Contains(dump, authz.HashAppCode(reset)) {
		t.Fatal("the dump does not even hold the AppCode hashes: it is not reading the store")
	}
	for _, c := range codes {
		for _, form := range []string{c, strings.ToLower(c)} {
			if strings.Contains(dump, form) {
				t.Errorf("AppCode %s… found in clear in Redis", c[:4])
			}
		}
	}
}

// dumpRedis returns every key name and value, whatever the type.
func dumpRedis(t *testing.T, s *Store) string {
	t.Helper()
	ctx := context.Background()
	rdb := s.Client()
	var b strings.Builder
	iter := rdb.Scan(ctx, 0, "*", 100).Iterator()
	n := 0
	for iter.Next(ctx) {
		k := iter.Val()
		n++
		b.WriteString(k + "\n")
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case "hash":
			h, err := rdb.HGetAll(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			for f, v := range h {
				b.WriteString(f + "=" + v + "\n")
			}
		case "set":
			m, err := rdb.SMembers(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(strings.Join(m, "\n") + "\n")
		case "string":
			v, err := rdb.Get(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(v + "\n")
		default:
			t.Fatalf("key %s has type %s, which the store never writes", k, typ)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("Redis is empty")
	}
	return b.String()
}
