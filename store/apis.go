package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

// CreateAPI registers an API (ErrExists when the id is taken). Empty
// appcode mode, access and clock skew take their defaults; an API with a
// host or path prefix joins the route table.
func (s *Store) CreateAPI(ctx context.Context, api authz.API) error {
	a, err := normalizeAPI(api)
	if err != nil {
		return err
	}
	return opErr("create api", s.writeAPI(ctx, a, false))
}

// UpdateAPI replaces an API with the given one (ErrNotFound when unknown);
// fields left empty take their defaults, as on create.
func (s *Store) UpdateAPI(ctx context.Context, api authz.API) error {
	if validID("api id", api.ID) != nil {
		return apiNotFound(api.ID)
	}
	a, err := normalizeAPI(api)
	if err != nil {
		return err
	}
	return opErr("update api", s.writeAPI(ctx, a, true))
}

func (s *Store) writeAPI(ctx context.Context, a authz.API, update bool) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	apiK, routesK := s.keys.api(a.ID), s.keys.routes()
	return s.watchTx(ctx, func(tx txn) error {
		old, err := tx.HGetAll(ctx, apiK).Result()
		if err != nil {
			return err
		}
		switch {
		case update && len(old) == 0:
			return apiNotFound(a.ID)
		case !update && len(old) > 0:
			return fmt.Errorf("api %q %w: change it with `authzctl api update %s` or pick another --id", a.ID, ErrExists, a.ID)
		}
		if hasRoute(a.Route) {
			if err := checkRouteFree(ctx, tx, routesK, a.Route); err != nil {
				return err
			}
		}
		created := s.now()
		if update {
			created = apiCreatedAt(old)
		}
		widest, stored, err := s.widestSkew(ctx, tx, a.ID, a.ClockSkew)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			// A wider maximum is written before the API that needs it,
			// a narrower one after (on a Cluster, writes apply in order).
			if widest > stored {
				s.setMaxSkew(ctx, pipe, widest)
			}
			defer func() {
				if widest <= stored {
					s.setMaxSkew(ctx, pipe, widest)
				}
			}()
			pipe.Del(ctx, apiK)
			pipe.HSet(ctx, apiK, encodeAPI(a, created))
			pipe.SAdd(ctx, s.keys.apis(), a.ID)
			s.publish(ctx, pipe, msgAPI(a.ID))
			if hasRoute(a.Route) {
				pipe.HSet(ctx, routesK, a.ID, encodeRoute(a.Route))
			} else {
				pipe.HDel(ctx, routesK, a.ID)
			}
			if hasRoute(a.Route) || old["host"] != "" || old["path_prefix"] != "" {
				s.publish(ctx, pipe, msgRoutes)
			}
			return nil
		})
		return err
	}, apiK, routesK)
}

// checkRouteFree refuses a route that another API already claims with
// the same host, path prefix and overlapping methods: the route table
// could not tell them apart.
func checkRouteFree(ctx context.Context, tx txn, routesK string, r authz.Route) error {
	all, err := tx.HGetAll(ctx, routesK).Result()
	if err != nil {
		return err
	}
	routes, err := decodeRoutes(all)
	if err != nil {
		return err
	}
	for _, o := range routes {
		if o.API == r.API || o.Host != r.Host || o.PathPrefix != r.PathPrefix {
			continue
		}
		if len(o.Methods) == 0 || len(r.Methods) == 0 || slices.ContainsFunc(r.Methods, func(m string) bool { return slices.Contains(o.Methods, m) }) {
			return fmt.Errorf("route host %q path prefix %q %w for api %q: give a different --host, --path-prefix or methods", r.Host, r.PathPrefix, ErrExists, o.API)
		}
	}
	return nil
}

// GetAPI reads one API.
func (s *Store) GetAPI(ctx context.Context, id string) (authz.API, error) {
	if validID("api id", id) != nil {
		return authz.API{}, apiNotFound(id)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	h, err := s.rdb.HGetAll(ctx, s.keys.api(id)).Result()
	if err != nil {
		return authz.API{}, opErr("show api", err)
	}
	a, err := decodeAPI(id, h)
	if err != nil {
		return authz.API{}, opErr("show api", err)
	}
	if a == nil {
		return authz.API{}, apiNotFound(id)
	}
	return *a, nil
}

// ListAPIs lists every API, sorted by id.
func (s *Store) ListAPIs(ctx context.Context) ([]authz.API, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	ids, err := s.rdb.SMembers(ctx, s.keys.apis()).Result()
	if err != nil {
		return nil, opErr("list apis", err)
	}
	slices.Sort(ids)
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.keys.api(id))
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, opErr("list apis", err)
	}
	out := make([]authz.API, 0, len(ids))
	for i, id := range ids {
		a, err := decodeAPI(id, cmds[i].Val())
		if err != nil {
			return nil, opErr("list apis", err)
		}
		if a != nil {
			out = append(out, *a)
		}
	}
	return out, nil
}

// DeleteAPI removes an API with its route and every grant on it.
func (s *Store) DeleteAPI(ctx context.Context, id string) error {
	if validID("api id", id) != nil {
		return apiNotFound(id)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	apiK, grantsK := s.keys.api(id), s.keys.apiGrants(id)
	err := s.watchTx(ctx, func(tx txn) error {
		n, err := tx.Exists(ctx, apiK).Result()
		if err != nil {
			return err
		}
		if n == 0 {
			return apiNotFound(id)
		}
		members, err := tx.SMembers(ctx, grantsK).Result()
		if err != nil {
			return err
		}
		dropLimits, err := s.limitsOfAPI(ctx, tx, id)
		if err != nil {
			return err
		}
		widest, _, err := s.widestSkew(ctx, tx, id, 0)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			// The maximum can only shrink: written after the deletion.
			defer s.setMaxSkew(ctx, pipe, widest)
			pipe.Del(ctx, apiK, grantsK)
			dropLimits(pipe)
			pipe.SRem(ctx, s.keys.apis(), id)
			pipe.HDel(ctx, s.keys.routes(), id)
			s.publish(ctx, pipe, msgAPI(id), msgRoutes)
			var stages []string
			for _, m := range members {
				appID, stage, ok := strings.Cut(m, " ")
				if !ok {
					continue
				}
				pipe.SRem(ctx, s.keys.appGrants(appID), grantMember(id, stage))
				if !slices.Contains(stages, stage) {
					stages = append(stages, stage)
					pipe.Del(ctx, s.keys.grant(id, stage))
					s.publish(ctx, pipe, msgGrant(id, stage))
				}
			}
			return nil
		})
		return err
	}, apiK, grantsK)
	return opErr("delete api", err)
}
