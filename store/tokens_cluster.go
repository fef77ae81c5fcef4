package store

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz/oauth2"
)

// Issuing a token on a Redis Cluster. tokens.lua checks the key and the
// app and writes the token and both indexes in one script, which a
// Cluster refuses (five slots). Here the same guarantee — no token
// survives the revocation or disable of its key or app that raced with
// its issue — comes from the order of the steps, without a lock on the
// token endpoint:
//
//  1. SET the token record (with its TTL);
//  2. in the key's slot, check the key and add the token to its index
//     (tokens_index.lua);
//  3. the same in the app's slot.
//
// An admin write that ends tokens first writes the key or app record, then
// reads its token index and deletes what it lists (txcluster.go). If step
// 2 or 3 ran before that record write, the token was already written and
// indexed, so the admin write finds it and deletes it; if after, the step
// refuses and the token record is deleted here. Either way the token is
// never handed out or does not outlive the change.

//go:embed tokens_index.lua
var tokenIndexSource string

var tokenIndexScript = redis.NewScript(tokenIndexSource)

func (s *Store) saveTokenCluster(ctx context.Context, cc *redis.ClusterClient, t oauth2.Token, rec []byte) error {
	tokK := s.keys.token(t.Hash)
	if err := cc.Set(ctx, tokK, rec, t.TTL).Err(); err != nil {
		return fmt.Errorf("store: save token: %w", err)
	}
	res, err := s.indexToken(ctx, cc, t.Record, s.keys.recordTokens(t.Record), t.AppID, t, MaxTokensPerKey)
	if err == nil && res[0] == "ok" {
		capped := res[1:]
		if res, err = s.indexToken(ctx, cc, s.keys.app(t.AppID), s.keys.appTokens(t.AppID), "", t, 0); err == nil && res[0] != "ok" {
			cc.ZRem(ctx, s.keys.recordTokens(t.Record), t.Hash)
		}
		if len(capped) > 0 {
			s.endCapped(ctx, cc, t.AppID, capped)
		}
	}
	if err == nil && res[0] == "ok" {
		return nil
	}
	// Not handed out: no one knows this token, but it must not linger.
	cc.Del(context.WithoutCancel(ctx), tokK)
	if err != nil {
		return fmt.Errorf("store: save token: %w", err)
	}
	switch res[0] {
	case "gone":
		return oauth2.ErrClientGone
	case "disabled":
		return oauth2.ErrClientDisabled
	}
	return fmt.Errorf("store: save token: tokens_index.lua answered %q", res[0])
}

// indexToken runs tokens_index.lua for one owner of the token.
func (s *Store) indexToken(ctx context.Context, cc *redis.ClusterClient, record, index, appID string, t oauth2.Token, limit int) ([]string, error) {
	res, err := tokenIndexScript.Run(ctx, cc, []string{record, index}, appID, t.TTL.Milliseconds(), t.Hash, limit).StringSlice()
	if err == nil && len(res) == 0 {
		err = fmt.Errorf("tokens_index.lua gave an empty answer")
	}
	return res, err
}

// endCapped deletes the tokens that the per-key cap ended, and their entries
// in the app's index, as tokens.lua does.
func (s *Store) endCapped(ctx context.Context, cc *redis.ClusterClient, appID string, hashes []string) {
	cc.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, h := range hashes {
			pipe.Del(ctx, s.keys.token(h))
			pipe.ZRem(ctx, s.keys.appTokens(appID), h)
		}
		return nil
	})
}
