// Package store is appauthz's Redis data model: the authz.Store the
// decision core reads (Lookup and Principal, one pipelined round trip
// each; Admit, one Lua script for the replay guard and traffic limits),
// and the admin operations behind authzctl and --dev.
//
// Layout (ARCHITECTURE.md §6, prefix "appauthz:" by default; keys.go builds
// every name). Braces are literal and act as Redis Cluster hash tags.
//
//	app:{app_id}            hash  name, status, created_at, appcode (sha256 hex)
//	app:{app_id}:keys       set   the app's app_keys
//	app:{app_id}:grants     set   "api stage" of each grant the app holds
//	app:{app_id}:tokens     set   sha256 hex of the app's bearer tokens
//	apps                    set   every app id
//	key:{app_key}           hash  app_id, secret, scopes, status, expires_at, created_at
//	appcode:{sha256hex}     hash  app_id, status (AppCodes are never stored in clear)
//	api:{api_id}            hash  methods, appcode_mode, access, clock_skew (s), scopes,
//	                              hmac_algorithms, enforce_headers, replay (on/off),
//	                              timestamp_required, host, path_prefix, route_methods, created_at,
//	                              rate ("100/s"), burst, quota ("10000/day")
//	api:{api_id}:grants     set   "app_id stage" of each grant on the API
//	apis                    set   every API id
//	maxskew                 string the widest clock skew of any API, in ms (maxskew.go)
//	routes                  hash  api_id → JSON route {api, host, path_prefix, methods}
//	grant:{api_id}:{stage}  hash  app_id → expires_at (unix seconds, 0 = none, +0 = the epoch)
//	token:{sha256hex}       string JSON {app_id, app_key, scopes}, with TTL
//	seen:{app_id}:NONCE     string replay guard, with TTL
//	limits:{api_id}         hash  app_id → JSON {rate, burst, quota}: the app's own limits
//	app:{app_id}:limits     set   api ids where the app has its own limits
//	rl:{app_id}:API:rate    string GCRA state (µs), TTL until the bucket is full
//	rl:{app_id}:API:quota:YYYYMMDD  string counter of the UTC day, TTL to an hour after it
//
// Lists are comma-separated, times unix seconds ("0" = none; an expiry at the
// epoch itself is "+0", see expiry.go). Every write
// runs in one MULTI that also PUBLISHes what changed ("app:ID", "key:K",
// "appcode:HASH", "api:ID", "routes", "grant:API:STAGE", "token:HASH", "limits:API:APP") on
// prefix+"invalidate", so caches can drop entries.
package store
