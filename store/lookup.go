package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

// Lookup is round trip one of a Check: the API (or the route table) and
// every credential the request carries, in one pipeline.
func (s *Store) Lookup(ctx context.Context, q authz.LookupQuery) (authz.LookupResult, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()

	pipe := s.rdb.Pipeline()
	var apiCmd, routesCmd *redis.MapStringStringCmd
	switch {
	case q.APIID == "":
		routesCmd = pipe.HGetAll(ctx, s.keys.routes())
	case idPattern.MatchString(q.APIID): // other ids cannot exist: no command
		apiCmd = pipe.HGetAll(ctx, s.keys.api(q.APIID))
	}
	// Client-supplied values that no record can have are answered "absent"
	// without asking Redis, so junk never reaches it.
	appKeys := dedupe(q.AppKeys, idPattern.MatchString)
	codes := dedupe(q.AppCodeHashes, validHash)
	tokens := dedupe(q.TokenHashes, validHash)
	keyHashes := make([]string, len(appKeys))
	keyCmds := make([]keyCmd, len(appKeys))
	legacy := s.legacy.Load()
	for i, k := range appKeys {
		keyHashes[i] = authz.HashAppKey(k)
		keyCmds[i] = s.queueKey(ctx, pipe, keyHashes[i], k, legacy)
	}
	codeCmds := make([]*redis.MapStringStringCmd, len(codes))
	for i, h := range codes {
		codeCmds[i] = pipe.HGetAll(ctx, s.keys.appCode(h))
	}
	tokenCmds := make([]*redis.StringCmd, len(tokens))
	for i, h := range tokens {
		tokenCmds[i] = pipe.Get(ctx, s.keys.token(h))
	}
	if err := execPipe(ctx, pipe); err != nil {
		return authz.LookupResult{}, fmt.Errorf("store: lookup: %w", err)
	}

	res := authz.LookupResult{
		Keys:     make(map[string]*authz.Key, len(appKeys)),
		AppCodes: make(map[string]*authz.AppCodeRecord, len(codes)),
		Tokens:   make(map[string]*authz.Token, len(tokens)),
	}
	var err error
	if apiCmd != nil {
		if res.API, err = decodeAPI(q.APIID, apiCmd.Val()); err != nil {
			return authz.LookupResult{}, fmt.Errorf("store: lookup: %w", err)
		}
	}
	if routesCmd != nil {
		if res.Routes, err = decodeRoutes(routesCmd.Val()); err != nil {
			return authz.LookupResult{}, fmt.Errorf("store: lookup: %w", err)
		}
	}
	for i, k := range appKeys {
		key, err := s.readKey(keyHashes[i], k, keyCmds[i])
		if err != nil {
			return authz.LookupResult{}, fmt.Errorf("store: lookup: %w", err)
		}
		if key != nil {
			res.Keys[keyHashes[i]] = key
		}
	}
	for i, h := range codes {
		if rec := decodeAppCode(codeCmds[i].Val()); rec != nil {
			res.AppCodes[h] = rec
		}
	}
	for i, h := range tokens {
		if errors.Is(tokenCmds[i].Err(), redis.Nil) {
			continue
		}
		tok, err := decodeToken(h, tokenCmds[i].Val())
		if err != nil {
			return authz.LookupResult{}, fmt.Errorf("store: lookup: %w", err)
		}
		if tok != nil {
			res.Tokens[h] = tok
		}
	}
	return res, nil
}

// keyCmd is the read of one key record: by hash, and while the store is
// of format 1 also by the app_key in clear (legacy).
type keyCmd struct{ cur, legacy *redis.MapStringStringCmd }

// queueKey queues the read of the key record of appKey (hash is its
// authz.HashAppKey) in pipe, with the format-1 record when legacy is set:
// one round trip either way.
func (s *Store) queueKey(ctx context.Context, pipe redis.Pipeliner, hash, appKey string, legacy bool) keyCmd {
	c := keyCmd{cur: pipe.HGetAll(ctx, s.keys.key(hash))}
	if legacy && appKey != "" && appKey != hash {
		c.legacy = pipe.HGetAll(ctx, s.keys.legacyKey(appKey))
	}
	return c
}

// readKey decodes what queueKey read, the current record first, and opens
// its secret; nil when neither record exists.
func (s *Store) readKey(hash, appKey string, c keyCmd) (*authz.Key, error) {
	name, h := hash, c.cur.Val()
	if len(h) == 0 && c.legacy != nil {
		name, h = appKey, c.legacy.Val()
	}
	key, err := decodeKey(hash, h)
	if err != nil || key == nil {
		return nil, err
	}
	if key.Secret, err = s.openSecret(name, key.Secret); err != nil {
		return nil, err
	}
	return key, nil
}

// Principal is round trip two: the API resolved by route, the apps, and
// each app's grant on GrantAPI for the stage, in one pipeline.
func (s *Store) Principal(ctx context.Context, q authz.PrincipalQuery) (authz.PrincipalResult, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()

	stage := q.Stage
	if stage == "" {
		stage = authz.DefaultStage
	}
	pipe := s.rdb.Pipeline()
	var apiCmd *redis.MapStringStringCmd
	if idPattern.MatchString(q.APIID) {
		apiCmd = pipe.HGetAll(ctx, s.keys.api(q.APIID))
	}
	appIDs := dedupe(q.AppIDs, idPattern.MatchString)
	if !idPattern.MatchString(q.GrantAPI) || !idPattern.MatchString(stage) {
		q.GrantAPI = "" // no such grant can exist
	}
	appCmds := make([]*redis.MapStringStringCmd, len(appIDs))
	grantCmds := make([]*redis.StringCmd, len(appIDs))
	for i, id := range appIDs {
		appCmds[i] = pipe.HGetAll(ctx, s.keys.app(id))
		if q.GrantAPI != "" {
			grantCmds[i] = pipe.HGet(ctx, s.keys.grant(q.GrantAPI, stage), id)
		}
	}
	limitCmds := s.queueAppLimits(ctx, pipe, q.LimitAPI, appIDs)
	if err := execPipe(ctx, pipe); err != nil {
		return authz.PrincipalResult{}, fmt.Errorf("store: principal: %w", err)
	}

	res := authz.PrincipalResult{
		Apps:   make(map[string]*authz.App, len(appIDs)),
		Grants: make(map[string]*authz.Grant, len(appIDs)),
	}
	if apiCmd != nil {
		api, err := decodeAPI(q.APIID, apiCmd.Val())
		if err != nil {
			return authz.PrincipalResult{}, fmt.Errorf("store: principal: %w", err)
		}
		res.API = api
	}
	var err error
	if res.Limits, err = readAppLimits(q.LimitAPI, limitCmds, appIDs); err != nil {
		return authz.PrincipalResult{}, fmt.Errorf("store: principal: %w", err)
	}
	for i, id := range appIDs {
		if app := decodeApp(id, appCmds[i].Val()); app != nil {
			res.Apps[id] = app
		}
		if grantCmds[i] == nil || errors.Is(grantCmds[i].Err(), redis.Nil) {
			continue
		}
		g, err := decodeGrant(grantCmds[i].Val())
		if err != nil {
			return authz.PrincipalResult{}, fmt.Errorf("store: principal: grant of app %q on api %q stage %q: %w", id, q.GrantAPI, stage, err)
		}
		res.Grants[id] = g
	}
	return res, nil
}

// execPipe sends a pipeline. redis.Nil of a GET/HGET is an answer ("no
// such record"), not a failure; any other error of any command is.
func execPipe(ctx context.Context, pipe redis.Pipeliner) error {
	cmds, err := pipe.Exec(ctx)
	if err == nil || !errors.Is(err, redis.Nil) {
		return err
	}
	for _, c := range cmds {
		if e := c.Err(); e != nil && !errors.Is(e, redis.Nil) {
			return e
		}
	}
	return nil
}

// dedupe keeps the ids that pass valid, once each, in order.
func dedupe(xs []string, valid func(string) bool) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if valid(x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func sortRoutes(rs []authz.Route) {
	slices.SortFunc(rs, func(a, b authz.Route) int { return strings.Compare(a.API, b.API) })
}
