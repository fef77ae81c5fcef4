// Package authztest holds an in-memory authz.Store for tests that drive
// the real decision core where Redis is not the point: adapters, the CLI's
// signing round trips, the documentation's client examples. The store's
// behaviour against real Redis is tested in package store.
//
// Records are added with a small builder; each method returns the store:
//
//	s := authztest.New().
//		API(authz.API{ID: "demo", Methods: []authz.Method{authz.MethodKey}}).
//		App(authz.App{ID: "demo-app", Status: authz.StatusActive}).
//		Key("app-key", authz.Key{KeyID: "kid", AppID: "demo-app", Status: authz.StatusActive}).
//		Grant("demo", authz.DefaultStage, "demo-app", authz.Grant{})
package authztest

import (
	"context"
	"sync"
	"time"

	"github.com/appauthz/appauthz/authz"
)

// Store is an in-memory authz.Store. It is safe for concurrent Checks;
// build it before the first one.
type Store struct {
	mu       sync.Mutex
	apis     map[string]authz.API
	routes   []authz.Route
	apps     map[string]authz.App
	keys     map[string]authz.Key           // by authz.HashAppKey
	appCodes map[string]authz.AppCodeRecord // by authz.HashAppCode
	tokens   map[string]authz.Token         // by authz.HashToken
	grants   map[string]authz.Grant         // by api|stage|app
	limits   map[string]authz.Limits        // by api|app
	skew     time.Duration
	nonces   map[string]bool
	err      error

	lookups, principals, admits int
}

var _ authz.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		apis: map[string]authz.API{}, apps: map[string]authz.App{}, keys: map[string]authz.Key{},
		appCodes: map[string]authz.AppCodeRecord{}, tokens: map[string]authz.Token{},
		grants: map[string]authz.Grant{}, limits: map[string]authz.Limits{}, nonces: map[string]bool{},
	}
}

// API adds an API; its Route, when it names the API, joins the route
// table (what Lookup returns when the proxy names no API).
func (s *Store) API(api authz.API) *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apis[api.ID] = api
	if api.Route.API != "" {
		s.routes = append(s.routes, api.Route)
	}
	return s
}

// Route adds a route to the route table.
func (s *Store) Route(r authz.Route) *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes = append(s.routes, r)
	return s
}

// App adds (or replaces) an app.
func (s *Store) App(app authz.App) *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[app.ID] = app
	return s
}

// Key adds a key under its plaintext app_key (stored by its hash, as the
// real store does).
func (s *Store) Key(appKey string, k authz.Key) *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[authz.HashAppKey(appKey)] = k
	return s
}

// AppCode adds an AppCode under its plaintext (stored by its hash).
func (s *Store) AppCode(code string, rec authz.AppCodeRecord) *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appCodes[authz.HashAppCode(code)] = rec
	return s
}

// Token adds a bearer token under its plaintext (stored by its hash).
func (s *Store) Token(token string, t authz.Token) *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[authz.HashToken(token)] = t
	return s
}

// Grant lets app call api at stage.
func (s *Store) Grant(api, stage, app string, g authz.Grant) *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grants[api+"|"+stage+"|"+app] = g
	return s
}

// Limits sets app's own limits on api (else the API's apply).
func (s *Store) Limits(api, app string, l authz.Limits) *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[api+"|"+app] = l
	return s
}

// MaxClockSkew sets the widest signature window Lookup reports with keys
// (0, the default, means unknown: nonces live authz.MaxClockSkew).
func (s *Store) MaxClockSkew(d time.Duration) *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skew = d
	return s
}

// Fail makes every later call fail with err (nil: answer again), as a
// store that cannot reach Redis does.
func (s *Store) Fail(err error) *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
	return s
}

// Calls reports how many times each round trip was made.
func (s *Store) Calls() (lookups, principals, admits int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups, s.principals, s.admits
}

// Lookup answers round trip one. Every record is a copy.
func (s *Store) Lookup(ctx context.Context, q authz.LookupQuery) (authz.LookupResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	if err := s.failure(ctx); err != nil {
		return authz.LookupResult{}, err
	}
	res := authz.LookupResult{Keys: map[string]*authz.Key{}, AppCodes: map[string]*authz.AppCodeRecord{}, Tokens: map[string]*authz.Token{}}
	if q.APIID != "" {
		res.API = copyOf(s.apis, q.APIID)
	} else {
		res.Routes = append([]authz.Route(nil), s.routes...)
	}
	for _, k := range q.AppKeys {
		h := authz.HashAppKey(k)
		if v := copyOf(s.keys, h); v != nil {
			res.Keys[h] = v
		}
	}
	for _, h := range q.AppCodeHashes {
		if v := copyOf(s.appCodes, h); v != nil {
			res.AppCodes[h] = v
		}
	}
	for _, h := range q.TokenHashes {
		if v := copyOf(s.tokens, h); v != nil {
			res.Tokens[h] = v
		}
	}
	if len(q.AppKeys) > 0 {
		res.MaxClockSkew = s.skew
	}
	return res, nil
}

// Principal answers round trip two.
func (s *Store) Principal(ctx context.Context, q authz.PrincipalQuery) (authz.PrincipalResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.principals++
	if err := s.failure(ctx); err != nil {
		return authz.PrincipalResult{}, err
	}
	res := authz.PrincipalResult{Apps: map[string]*authz.App{}, Grants: map[string]*authz.Grant{}, Limits: map[string]*authz.Limits{}}
	if q.APIID != "" {
		res.API = copyOf(s.apis, q.APIID)
	}
	for _, id := range q.AppIDs {
		if a := copyOf(s.apps, id); a != nil {
			res.Apps[id] = a
		}
		if q.GrantAPI != "" {
			if g := copyOf(s.grants, q.GrantAPI+"|"+q.Stage+"|"+id); g != nil {
				res.Grants[id] = g
			}
		}
		if q.LimitAPI != "" {
			if l := copyOf(s.limits, q.LimitAPI+"|"+id); l != nil {
				res.Limits[id] = l
			}
		}
	}
	return res, nil
}

// Admit claims the replay nonce (SET NX semantics) and charges nothing:
// traffic limits are counted by the real store's script.
func (s *Store) Admit(ctx context.Context, q authz.AdmitQuery) (authz.AdmitResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.admits++
	if err := s.failure(ctx); err != nil {
		return authz.AdmitResult{}, err
	}
	if q.Nonce != "" {
		if s.nonces[q.Nonce] {
			return authz.AdmitResult{Replayed: true}, nil
		}
		s.nonces[q.Nonce] = true
	}
	return authz.AdmitResult{}, nil
}

func (s *Store) failure(ctx context.Context) error {
	if s.err != nil {
		return s.err
	}
	return ctx.Err()
}

// copyOf returns a copy of m[k], or nil when there is none.
func copyOf[V any](m map[string]V, k string) *V {
	v, ok := m[k]
	if !ok {
		return nil
	}
	return &v
}
