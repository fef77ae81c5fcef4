package store

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

// ResetAppCode replaces an app's AppCode: the old one stops working at
// once. An empty code is generated. The new code is returned in clear; this
// is the only time it is known, Redis keeps its SHA-256 only.
func (s *Store) ResetAppCode(ctx context.Context, appID, code string) (string, error) {
	if code == "" {
		code = newAppCode()
	} else if err := validSecret("AppCode", code); err != nil {
		return "", err
	}
	if validID("app id", appID) != nil {
		return "", appNotFound(appID)
	}
	newHash := authz.HashAppCode(code)
	appK, newK := s.keys.app(appID), s.keys.appCode(newHash)

	ctx, cancel := s.bound(ctx)
	defer cancel()
	err := s.watchTx(ctx, func(tx txn) error {
		h, err := tx.HGetAll(ctx, appK).Result()
		if err != nil {
			return err
		}
		if len(h) == 0 {
			return appNotFound(appID)
		}
		oldHash := h["appcode"]
		if oldHash != newHash {
			err := mustNotExist(ctx, tx, newK, fmt.Errorf("that AppCode %w (another app uses it): pick another --code or omit it to generate one", ErrExists))
			if err != nil {
				return err
			}
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			if oldHash != "" && oldHash != newHash {
				pipe.Del(ctx, s.keys.appCode(oldHash))
				s.publish(ctx, pipe, msgAppCode(oldHash))
			}
			pipe.HSet(ctx, newK, "app_id", appID, "status", string(statusOr(h["status"])))
			pipe.HSet(ctx, appK, "appcode", newHash)
			s.publish(ctx, pipe, msgAppCode(newHash), msgApp(appID))
			return nil
		})
		return err
	}, appK, newK)
	if err != nil {
		return "", opErr("reset appcode", err)
	}
	return code, nil
}
