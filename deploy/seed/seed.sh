#!/bin/sh
# Seeds the demo API and app into Redis with authzctl (docker-compose `seed`
# service). DEMO ONLY: the credentials are public; never use them elsewhere.
#
# Idempotent: an app that already exists is left alone, an API that exists is
# updated to the flags below, a grant is (re)written. So `docker compose up`
# can run it again over existing data.
#
# Every value comes from the environment (docker-compose.yml sets them);
# AUTHZ_REDIS_URL tells authzctl where Redis is, AUTHZ_MASTER_KEY_FILE the
# master key that seals app secrets there (the same file authzd gets).
set -eu

: "${AUTHZ_REDIS_URL:?set AUTHZ_REDIS_URL, e.g. redis://redis:6379/0}"
: "${AUTHZ_MASTER_KEY_FILE:?set AUTHZ_MASTER_KEY_FILE to the master key file authzd uses (docs/secrets.md)}"
: "${DEMO_API_ID:?}" "${DEMO_APP_ID:?}" "${DEMO_APP_NAME:?}" "${DEMO_APP_KEY:?}"
: "${DEMO_APP_SECRET:?}" "${DEMO_APPCODE:?}" "${DEMO_STAGE:?}"
: "${ORDERS_API_ID:?}" "${ORDERS_PATH_PREFIX:?}"

# exists KIND ID: true when `authzctl KIND show ID` finds it. If Redis is down
# this is false too, and the create that follows fails with authzctl's error.
exists() {
	authzctl "$1" show "$2" -o json >/dev/null 2>&1
}

# upsert_api ID FLAGS...: create the API, or bring an existing one to FLAGS.
upsert_api() {
	id=$1
	shift
	if exists api "$id"; then
		authzctl api update "$id" "$@" -o json >/dev/null
		echo "seed: api $id existed; updated"
	else
		authzctl api create --id "$id" "$@" -o json >/dev/null
		echo "seed: api $id created"
	fi
}

# API named by Envoy's context extension (route "/").
upsert_api "$DEMO_API_ID" \
	--methods appcode,key,hmac,paramsign,oauth2 \
	--appcode-mode header-query \
	--access authorized \
	--path-prefix /

# API resolved through the route table (Envoy's /orders route names no API).
upsert_api "$ORDERS_API_ID" \
	--methods key,hmac \
	--access authenticated \
	--path-prefix "$ORDERS_PATH_PREFIX"

if exists app "$DEMO_APP_ID"; then
	echo "seed: app $DEMO_APP_ID existed; left unchanged"
else
	# Output (it holds the secret) goes nowhere: the demo values are in docker-compose.yml.
	authzctl app create --id "$DEMO_APP_ID" --name "$DEMO_APP_NAME" \
		--key "$DEMO_APP_KEY" --secret "$DEMO_APP_SECRET" --appcode "$DEMO_APPCODE" \
		-o json >/dev/null
	echo "seed: app $DEMO_APP_ID created (credentials: docker-compose.yml, DEMO ONLY)"
fi

authzctl grant add --api "$DEMO_API_ID" --app "$DEMO_APP_ID" --stage "$DEMO_STAGE" -o json >/dev/null
echo "seed: app $DEMO_APP_ID granted api $DEMO_API_ID on stage $DEMO_STAGE"
