package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

// Traffic control data. An API's own limits are fields of its hash (rate,
// burst, quota). An app's limits on an API, which replace the API's for
// that app, are one JSON field per app of limits:{api_id}, read by
// Principal in round trip two; app:{app_id}:limits lists the APIs where an
// app has its own, so deleting the app finds them without scanning.
//
// The counters are keyed by app, so the nonce and every limit of one Check
// share the app's hash tag (one Cluster slot, one script):
//
//	rl:{app_id}:API:rate          GCRA state (µs), expires when the bucket is full
//	rl:{app_id}:API:quota:YYYYMMDD counter of the UTC day, expires an hour after it
//
// keys.go builds these names (rate, quota, appLimits, appLimitAPIs).

// AppLimits is an app's own limits on an API.
type AppLimits struct {
	API    string
	AppID  string
	Limits authz.Limits
}

// --- codec ---

// limitsJSON is the value of one field of limits:{api_id}.
type limitsJSON struct {
	Rate  string `json:"rate,omitempty"`
	Burst int64  `json:"burst,omitempty"`
	Quota int64  `json:"quota,omitempty"`
}

func encodeLimits(l authz.Limits) string {
	b, _ := json.Marshal(limitsJSON{Rate: l.Rate.String(), Burst: l.Rate.Burst, Quota: l.Quota})
	return string(b)
}

func decodeLimits(v string) (authz.Limits, error) {
	var j limitsJSON
	if err := json.Unmarshal([]byte(v), &j); err != nil {
		return authz.Limits{}, errors.New("not JSON")
	}
	var l authz.Limits
	if j.Rate != "" {
		r, err := authz.ParseRate(j.Rate)
		if err != nil {
			return l, err
		}
		l.Rate = r
	}
	l.Rate.Burst, l.Quota = j.Burst, j.Quota
	return l, l.Validate()
}

// burstString is the burst field of an API hash; "" = the rate's count.
func burstString(b int64) string {
	if b <= 0 {
		return ""
	}
	return strconv.FormatInt(b, 10)
}

// decodeAPILimits reads the limit fields of an API hash; it returns the
// name of the bad field with the error.
func decodeAPILimits(h map[string]string) (authz.Limits, string, error) {
	var l authz.Limits
	var err error
	if v := h["rate"]; v != "" {
		if l.Rate, err = authz.ParseRate(v); err != nil {
			return l, "rate", err
		}
	}
	if v := h["burst"]; v != "" {
		if l.Rate.Burst, err = strconv.ParseInt(v, 10, 64); err != nil {
			return l, "burst", err
		}
	}
	if v := h["quota"]; v != "" {
		if l.Quota, err = authz.ParseQuota(v); err != nil {
			return l, "quota", err
		}
	}
	if err := l.Validate(); err != nil {
		return l, "burst", err
	}
	return l, "", nil
}

// --- round trip two ---

// queueAppLimits adds the HGETs of each app's own limits on apiID to a
// Principal pipeline; nil when there is no API to read.
func (s *Store) queueAppLimits(ctx context.Context, pipe redis.Pipeliner, apiID string, appIDs []string) []*redis.StringCmd {
	if !idPattern.MatchString(apiID) {
		return nil
	}
	cmds := make([]*redis.StringCmd, len(appIDs))
	for i, id := range appIDs {
		cmds[i] = pipe.HGet(ctx, s.keys.appLimits(apiID), id)
	}
	return cmds
}

func readAppLimits(apiID string, cmds []*redis.StringCmd, appIDs []string) (map[string]*authz.Limits, error) {
	out := make(map[string]*authz.Limits)
	for i, c := range cmds {
		if errors.Is(c.Err(), redis.Nil) {
			continue
		}
		l, err := decodeLimits(c.Val())
		if err != nil {
			return nil, fmt.Errorf("limits of app %q on api %q: %v: fix them with `authzctl limit set --api %s --app %s`", appIDs[i], apiID, err, apiID, appIDs[i])
		}
		out[appIDs[i]] = &l
	}
	return out, nil
}

// --- admin ---

// SetAppLimits gives an app its own limits on an API, replacing the API's
// limits for that app (zero Limits: the app is unlimited there).
func (s *Store) SetAppLimits(ctx context.Context, apiID, appID string, l authz.Limits) error {
	if validID("api id", apiID) != nil {
		return apiNotFound(apiID)
	}
	if validID("app id", appID) != nil {
		return appNotFound(appID)
	}
	if err := l.Validate(); err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	apiK, appK := s.keys.api(apiID), s.keys.app(appID)
	err := s.watchTx(ctx, func(tx txn) error {
		if n, err := tx.Exists(ctx, apiK).Result(); err != nil || n == 0 {
			return cmp(err, apiNotFound(apiID))
		}
		if n, err := tx.Exists(ctx, appK).Result(); err != nil || n == 0 {
			return cmp(err, appNotFound(appID))
		}
		_, err := tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.HSet(ctx, s.keys.appLimits(apiID), appID, encodeLimits(l))
			pipe.SAdd(ctx, s.keys.appLimitAPIs(appID), apiID)
			s.publish(ctx, pipe, msgLimits(apiID, appID))
			return nil
		})
		return err
	}, apiK, appK)
	return opErr("set limits", err)
}

// cmp is err when Redis failed, otherwise the not-found error.
func cmp(err, notFound error) error {
	if err != nil {
		return err
	}
	return notFound
}

// GetAppLimits reads an app's own limits on an API; ok is false when it
// has none (the API's apply).
func (s *Store) GetAppLimits(ctx context.Context, apiID, appID string) (l authz.Limits, ok bool, err error) {
	if validID("api id", apiID) != nil || validID("app id", appID) != nil {
		return l, false, nil
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	v, err := s.rdb.HGet(ctx, s.keys.appLimits(apiID), appID).Result()
	if errors.Is(err, redis.Nil) {
		return l, false, nil
	}
	if err != nil {
		return l, false, opErr("show limits", err)
	}
	if l, err = decodeLimits(v); err != nil {
		return l, false, fmt.Errorf("limits of app %q on api %q: %w", appID, apiID, err)
	}
	return l, true, nil
}

// ListAppLimits lists the apps with their own limits on an API, by app id.
func (s *Store) ListAppLimits(ctx context.Context, apiID string) ([]AppLimits, error) {
	if validID("api id", apiID) != nil {
		return nil, apiNotFound(apiID)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	exists := pipe.Exists(ctx, s.keys.api(apiID))
	all := pipe.HGetAll(ctx, s.keys.appLimits(apiID))
	if err := execPipe(ctx, pipe); err != nil {
		return nil, opErr("list limits", err)
	}
	if exists.Val() == 0 {
		return nil, apiNotFound(apiID)
	}
	out := make([]AppLimits, 0, len(all.Val()))
	for appID, v := range all.Val() {
		l, err := decodeLimits(v)
		if err != nil {
			return nil, fmt.Errorf("limits of app %q on api %q: %w", appID, apiID, err)
		}
		out = append(out, AppLimits{API: apiID, AppID: appID, Limits: l})
	}
	slices.SortFunc(out, func(a, b AppLimits) int { return strings.Compare(a.AppID, b.AppID) })
	return out, nil
}

// DeleteAppLimits removes an app's own limits on an API, so the API's
// apply to it again (ErrNotFound when it had none).
func (s *Store) DeleteAppLimits(ctx context.Context, apiID, appID string) error {
	notFound := fmt.Errorf("app %q has no limits of its own on api %q (%w): see `authzctl limit list --api %s`", appID, apiID, ErrNotFound, apiID)
	if validID("api id", apiID) != nil || validID("app id", appID) != nil {
		return notFound
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	limitsK := s.keys.appLimits(apiID)
	err := s.watchTx(ctx, func(tx txn) error {
		if ok, err := tx.HExists(ctx, limitsK, appID).Result(); err != nil || !ok {
			return cmp(err, notFound)
		}
		_, err := tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.HDel(ctx, limitsK, appID)
			pipe.SRem(ctx, s.keys.appLimitAPIs(appID), apiID)
			s.publish(ctx, pipe, msgLimits(apiID, appID))
			return nil
		})
		return err
	}, limitsK)
	return opErr("delete limits", err)
}

// limitsOfApp returns, inside a WATCH, what deleting an app must also do
// to its own limits: queue it on the MULTI with the function returned.
func (s *Store) limitsOfApp(ctx context.Context, tx txn, appID string) (func(redis.Pipeliner), error) {
	// Watched too, so limits set meanwhile are not left behind.
	if err := tx.Watch(ctx, s.keys.appLimitAPIs(appID)).Err(); err != nil {
		return nil, err
	}
	apis, err := tx.SMembers(ctx, s.keys.appLimitAPIs(appID)).Result()
	if err != nil {
		return nil, err
	}
	return func(pipe redis.Pipeliner) {
		pipe.Del(ctx, s.keys.appLimitAPIs(appID))
		for _, apiID := range apis {
			pipe.HDel(ctx, s.keys.appLimits(apiID), appID)
			s.publish(ctx, pipe, msgLimits(apiID, appID))
		}
	}, nil
}

// limitsOfAPI is limitsOfApp for deleting an API.
func (s *Store) limitsOfAPI(ctx context.Context, tx txn, apiID string) (func(redis.Pipeliner), error) {
	if err := tx.Watch(ctx, s.keys.appLimits(apiID)).Err(); err != nil {
		return nil, err
	}
	apps, err := tx.HKeys(ctx, s.keys.appLimits(apiID)).Result()
	if err != nil {
		return nil, err
	}
	return func(pipe redis.Pipeliner) {
		pipe.Del(ctx, s.keys.appLimits(apiID))
		for _, appID := range apps {
			pipe.SRem(ctx, s.keys.appLimitAPIs(appID), apiID)
			s.publish(ctx, pipe, msgLimits(apiID, appID))
		}
	}, nil
}
