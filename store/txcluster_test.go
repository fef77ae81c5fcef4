package store

import (
	"context"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestHashTag(t *testing.T) {
	for key, want := range map[string]string{
		"appauthz:app:{a1}:keys":      "a1",
		"appauthz:grant:{api}:{TEST}": "api",
		"appauthz:apps":               "appauthz:apps",
		"appauthz:x:{}:{y}":           "appauthz:x:{}:{y}", // an empty tag hashes the whole key
		"appauthz:x:{open":            "appauthz:x:{open",
	} {
		if got := hashTag(key); got != want {
			t.Errorf("hashTag(%q) = %q, want %q", key, got, want)
		}
	}
}

// slotRuns keeps the queued order and joins only neighbours of one slot.
func TestSlotRuns(t *testing.T) {
	ctx := context.Background()
	pipe := redis.NewClient(&redis.Options{}).Pipeline()
	pipe.Del(ctx, "p:api:{o}")
	pipe.HSet(ctx, "p:api:{o}", "f", "v")
	pipe.SAdd(ctx, "p:apis", "o")
	pipe.HSet(ctx, "p:limits:{o}", "a", "1")
	pipe.HSet(ctx, "p:app:{a}", "f", "v")
	pipe.SAdd(ctx, "p:app:{a}:keys", "k")
	var got [][]string
	for _, run := range slotRuns(pipe.Cmds()) {
		var names []string
		for _, c := range run {
			names = append(names, c.Name()+" "+firstKey(c))
		}
		got = append(got, names)
	}
	want := [][]string{
		{"del p:api:{o}", "hset p:api:{o}"},
		{"sadd p:apis"},
		{"hset p:limits:{o}"},
		{"hset p:app:{a}", "sadd p:app:{a}:keys"},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("slotRuns = %q, want %q", got, want)
	}
}
