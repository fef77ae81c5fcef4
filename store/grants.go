package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

// A grant lives in three places, written together: the field app_id of
// grant:{api}:{stage} (what a Check reads, one HGET), "api stage" in the
// app's grant set and "app stage" in the API's grant set (so deleting
// either side finds its grants without scanning).

// AddGrant lets an app call an API on a stage (default RELEASE) until
// ExpiresAt (nil = no expiry). Adding an existing grant updates its expiry.
func (s *Store) AddGrant(ctx context.Context, g GrantInfo) error {
	stage, err := grantStage(g.Stage)
	if err != nil {
		return err
	}
	if validID("api id", g.API) != nil {
		return apiNotFound(g.API)
	}
	if validID("app id", g.AppID) != nil {
		return appNotFound(g.AppID)
	}
	expiry := authz.ExpiryOf(g.ExpiresAt)
	if err := validExpiry(expiry); err != nil {
		return err
	}
	exp := encodeExpiry(expiry)
	ctx, cancel := s.bound(ctx)
	defer cancel()
	apiK, appK := s.keys.api(g.API), s.keys.app(g.AppID)
	err = s.watchTx(ctx, func(tx txn) error {
		if n, err := tx.Exists(ctx, apiK).Result(); err != nil {
			return err
		} else if n == 0 {
			return apiNotFound(g.API)
		}
		if n, err := tx.Exists(ctx, appK).Result(); err != nil {
			return err
		} else if n == 0 {
			return appNotFound(g.AppID)
		}
		_, err := tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.HSet(ctx, s.keys.grant(g.API, stage), g.AppID, exp)
			pipe.SAdd(ctx, s.keys.appGrants(g.AppID), grantMember(g.API, stage))
			pipe.SAdd(ctx, s.keys.apiGrants(g.API), grantMember(g.AppID, stage))
			s.publish(ctx, pipe, msgGrant(g.API, stage))
			return nil
		})
		return err
	}, apiK, appK)
	return opErr("add grant", err)
}

// RevokeGrant removes one grant (ErrNotFound when there is none).
func (s *Store) RevokeGrant(ctx context.Context, apiID, appID, stage string) error {
	stage, err := grantStage(stage)
	if err != nil {
		return err
	}
	notFound := fmt.Errorf("grant of app %q on api %q stage %q %w: list grants with `authzctl grant list --api %s`", appID, apiID, stage, ErrNotFound, apiID)
	if validID("api id", apiID) != nil || validID("app id", appID) != nil {
		return notFound
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	grantK := s.keys.grant(apiID, stage)
	err = s.watchTx(ctx, func(tx txn) error {
		ok, err := tx.HExists(ctx, grantK, appID).Result()
		if err != nil {
			return err
		}
		if !ok {
			return notFound
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.HDel(ctx, grantK, appID)
			pipe.SRem(ctx, s.keys.appGrants(appID), grantMember(apiID, stage))
			pipe.SRem(ctx, s.keys.apiGrants(apiID), grantMember(appID, stage))
			s.publish(ctx, pipe, msgGrant(apiID, stage))
			return nil
		})
		return err
	}, grantK)
	return opErr("revoke grant", err)
}

// ListGrants lists the grants on an API, sorted by stage then app.
func (s *Store) ListGrants(ctx context.Context, apiID string) ([]GrantInfo, error) {
	if validID("api id", apiID) != nil {
		return nil, apiNotFound(apiID)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	exists := pipe.Exists(ctx, s.keys.api(apiID))
	members := pipe.SMembers(ctx, s.keys.apiGrants(apiID))
	if err := execPipe(ctx, pipe); err != nil {
		return nil, opErr("list grants", err)
	}
	if exists.Val() == 0 {
		return nil, apiNotFound(apiID)
	}
	type pair struct{ app, stage string }
	var pairs []pair
	for _, m := range members.Val() {
		if app, stage, ok := strings.Cut(m, " "); ok {
			pairs = append(pairs, pair{app, stage})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.stage, b.stage); c != 0 {
			return c
		}
		return strings.Compare(a.app, b.app)
	})
	pipe = s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(pairs))
	for i, p := range pairs {
		cmds[i] = pipe.HGet(ctx, s.keys.grant(apiID, p.stage), p.app)
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, opErr("list grants", err)
	}
	out := make([]GrantInfo, 0, len(pairs))
	for i, p := range pairs {
		v, err := cmds[i].Result()
		if err != nil { // redis.Nil: the set and the hash disagree; the hash decides
			continue
		}
		g, err := decodeGrant(v)
		if err != nil {
			return nil, opErr("list grants", fmt.Errorf("grant of app %q on api %q stage %q: %w", p.app, apiID, p.stage, err))
		}
		info := GrantInfo{API: apiID, AppID: p.app, Stage: p.stage}
		info.ExpiresAt = g.ExpiresAt.Ptr()
		out = append(out, info)
	}
	return out, nil
}

func grantStage(stage string) (string, error) {
	if stage == "" {
		return authz.DefaultStage, nil
	}
	if err := validID("stage", stage); err != nil {
		return "", err
	}
	return stage, nil
}
