package store

// keyspace builds every Redis key and channel name of appauthz, so the
// layout of ARCHITECTURE.md §6 lives in one place. The braces are part of
// the contract and double as Redis Cluster hash tags: an app's hash, key set
// and grant set share a slot, as do an API's hash, grant set and grants.
type keyspace struct{ prefix string }

func (k keyspace) app(appID string) string       { return k.prefix + "app:{" + appID + "}" }
func (k keyspace) appKeys(appID string) string   { return k.app(appID) + ":keys" }
func (k keyspace) appGrants(appID string) string { return k.app(appID) + ":grants" }
func (k keyspace) appTokens(appID string) string { return k.app(appID) + ":tokens" }
func (k keyspace) apps() string                  { return k.prefix + "apps" }

// key names a key record by the SHA-256 of its app_key
// (authz.HashAppKey), as AppCodes are named: no app_key appears in Redis
// in clear (format 2).
func (k keyspace) key(hash string) string { return k.prefix + "key:{" + hash + "}" }

// legacyKey is the format-1 name of a key record, the app_key in clear.
// Only format-1 reads (before `authzctl migrate`) and the migration use it.
func (k keyspace) legacyKey(appKey string) string { return k.prefix + "key:{" + appKey + "}" }

// keyID maps a key id (string) to the key's record hash, for the admin
// commands that name a key by its id.
func (k keyspace) keyID(id string) string { return k.prefix + "keyid:{" + id + "}" }

// maxSkew holds the widest signature window of any API in milliseconds
// (maxskew.go), kept by every API write.
func (k keyspace) maxSkew() string { return k.prefix + "maxskew" }

// format holds the store's format version (formatVersion).
func (k keyspace) format() string { return k.prefix + "format" }

// masterKeys is the set of the ids of the master keys that seal live
// app secrets (masterkeys.go): a write seals only under one of them, so a
// wrong --master-key-file cannot make records nothing else can open.
func (k keyspace) masterKeys() string { return k.prefix + "masterkeys" }

// keyReader is one running authzd's announcement of the master key ids it
// opens (string, space-separated ids, with a TTL it keeps refreshing), so
// `authzctl secrets rotate-master` can tell whether every authzd opens the
// new key before it re-seals anything.
func (k keyspace) keyReader(instance string) string { return k.keyReaders() + instance + "}" }

// keyReaders is what every keyReader name starts with.
func (k keyspace) keyReaders() string { return k.prefix + "masterkeys:reader:{" }

// keyReaderNames is the SCAN pattern of every keyReader.
func (k keyspace) keyReaderNames() string { return globEscape(k.keyReaders()) + "*}" }

func (k keyspace) appCode(hash string) string { return k.prefix + "appcode:{" + hash + "}" }

func (k keyspace) api(apiID string) string       { return k.prefix + "api:{" + apiID + "}" }
func (k keyspace) apiGrants(apiID string) string { return k.api(apiID) + ":grants" }
func (k keyspace) apis() string                  { return k.prefix + "apis" }
func (k keyspace) routes() string                { return k.prefix + "routes" }

func (k keyspace) grant(apiID, stage string) string {
	return k.prefix + "grant:{" + apiID + "}:{" + stage + "}"
}

func (k keyspace) token(hash string) string { return k.prefix + "token:{" + hash + "}" }

// keyTokens indexes the live tokens of one key, named by its record hash
// (sorted set, score = expiry in unix µs), as appTokens does for an app,
// so revoking the key can delete them.
func (k keyspace) keyTokens(hash string) string { return k.recordTokens(k.key(hash)) }

// recordTokens is the token index beside a key record given by its full
// name (format 2 or, before the migration, format 1).
func (k keyspace) recordTokens(record string) string { return record + ":tokens" }

// authFailures counts failed client authentications at the token endpoint
// for one key (kind "key", id its record hash) or source address ("addr").
func (k keyspace) authFailures(kind, id string) string {
	return k.prefix + "oauth2fail:{" + kind + ":" + id + "}"
}
func (k keyspace) seen(appID, nonce string) string {
	return k.prefix + "seen:{" + appID + "}:" + nonce
}

// rate holds an app's GCRA state on an API (µs), and quota its counter of
// one UTC day (YYYYMMDD); both share the app's hash tag with its nonces, so
// every limit of one Check runs in one slot (limits.go).
func (k keyspace) rate(appID, apiID string) string {
	return k.prefix + "rl:{" + appID + "}:" + apiID + ":rate"
}

func (k keyspace) quota(appID, apiID, day string) string {
	return k.prefix + "rl:{" + appID + "}:" + apiID + ":quota:" + day
}

// appLimits holds the apps' own limits on one API (one JSON field per app);
// appLimitAPIs lists the APIs where an app has its own, so deleting the app
// finds them without scanning.
func (k keyspace) appLimits(apiID string) string    { return k.prefix + "limits:{" + apiID + "}" }
func (k keyspace) appLimitAPIs(appID string) string { return k.app(appID) + ":limits" }

// adminLock is the key of the cluster-wide admin lock (txcluster.go).
func (k keyspace) adminLock() string { return k.prefix + "lock:admin" }

// Name prefixes and SCAN patterns (globs, the prefix escaped) of the
// records above, for the commands that walk every record of a kind
// (migrate, master key rotation) and for tokens.lua, which names a token
// from its hash.
func (k keyspace) keyNamePrefix() string   { return k.prefix + "key:{" }
func (k keyspace) tokenNamePrefix() string { return k.prefix + "token:{" }
func (k keyspace) authFailurePrefix(kind string) string {
	return k.prefix + "oauth2fail:{" + kind + ":"
}
func (k keyspace) keyNames() string   { return globEscape(k.prefix) + "key:{*}" }
func (k keyspace) tokenNames() string { return globEscape(k.prefix) + "token:{*}" }
func (k keyspace) appKeySets() string { return globEscape(k.prefix) + "app:{*}:keys" }
func (k keyspace) authFailureNames(kind string) string {
	return globEscape(k.prefix) + "oauth2fail:{" + kind + ":*}"
}

// invalidate is the pub/sub channel every write publishes on.
func (k keyspace) invalidate() string { return k.prefix + "invalidate" }

// grantMember is the member naming one grant in an app's grant set
// ("api stage") or in an API's grant set ("app stage"). Ids and stages
// never hold spaces (see validID), so the split is unambiguous.
func grantMember(id, stage string) string { return id + " " + stage }

// Invalidation messages: what changed, for caches to drop.
func msgApp(appID string) string          { return "app:" + appID }
func msgKey(hash string) string           { return "key:" + hash }
func msgAppCode(hash string) string       { return "appcode:" + hash }
func msgAPI(apiID string) string          { return "api:" + apiID }
func msgGrant(apiID, stage string) string { return "grant:" + apiID + ":" + stage }
func msgToken(hash string) string         { return "token:" + hash }

// msgLimits says an app's own limits on an API changed.
func msgLimits(apiID, appID string) string { return "limits:" + apiID + ":" + appID }

// msgRoutes says the route table changed.
const msgRoutes = "routes"

// msgFormat says the store's format version changed (`authzctl migrate`).
const msgFormat = "format"
