package authz

import (
	"context"
	"errors"
	"sync"
)

// fakeStore is an in-memory Store for the core's table tests. Store
// behaviour against real Redis is tested in package store.
type fakeStore struct {
	mu       sync.Mutex
	apis     map[string]*API
	routes   []Route
	keys     map[string]*Key
	appcodes map[string]*AppCodeRecord
	tokens   map[string]*Token
	apps     map[string]*App
	grants   map[string]map[string]*Grant // api|stage → app → grant
	nonces   map[string]bool
	err      error // every call fails with it when set

	lookups, principals, claims int
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		apis: map[string]*API{}, keys: map[string]*Key{}, appcodes: map[string]*AppCodeRecord{},
		tokens: map[string]*Token{}, apps: map[string]*App{}, grants: map[string]map[string]*Grant{},
		nonces: map[string]bool{},
	}
}

func (f *fakeStore) grant(api, stage, app string, g *Grant) {
	k := api + "|" + stage
	if f.grants[k] == nil {
		f.grants[k] = map[string]*Grant{}
	}
	f.grants[k][app] = g
}

func (f *fakeStore) Lookup(ctx context.Context, q LookupQuery) (LookupResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	if f.err != nil {
		return LookupResult{}, f.err
	}
	if err := ctx.Err(); err != nil {
		return LookupResult{}, err
	}
	res := LookupResult{Keys: map[string]*Key{}, AppCodes: map[string]*AppCodeRecord{}, Tokens: map[string]*Token{}}
	if q.APIID != "" {
		res.API = f.apis[q.APIID]
	} else {
		res.Routes = f.routes
	}
	for _, k := range q.AppKeys {
		if v := f.keys[k]; v != nil {
			res.Keys[HashAppKey(k)] = v
		}
	}
	for _, h := range q.AppCodeHashes {
		if v := f.appcodes[h]; v != nil {
			res.AppCodes[h] = v
		}
	}
	for _, h := range q.TokenHashes {
		if v := f.tokens[h]; v != nil {
			res.Tokens[h] = v
		}
	}
	return res, nil
}

func (f *fakeStore) Principal(ctx context.Context, q PrincipalQuery) (PrincipalResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.principals++
	if f.err != nil {
		return PrincipalResult{}, f.err
	}
	res := PrincipalResult{Apps: map[string]*App{}, Grants: map[string]*Grant{}}
	if q.APIID != "" {
		res.API = f.apis[q.APIID]
	}
	for _, id := range q.AppIDs {
		if a := f.apps[id]; a != nil {
			res.Apps[id] = a
		}
		if q.GrantAPI != "" {
			if g := f.grants[q.GrantAPI+"|"+q.Stage][id]; g != nil {
				res.Grants[id] = g
			}
		}
	}
	return res, nil
}

func (f *fakeStore) Admit(ctx context.Context, q AdmitQuery) (AdmitResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.claims++
	if f.err != nil {
		return AdmitResult{}, f.err
	}
	if q.Nonce != "" {
		if f.nonces[q.Nonce] {
			return AdmitResult{Replayed: true}, nil
		}
		f.nonces[q.Nonce] = true
	}
	return AdmitResult{}, nil
}

var errRedisDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
