#!/usr/bin/env bash
# HMAC-sign one request with openssl and send it with curl.
#
#   APP_KEY=K APP_SECRET=S ./hmac.sh METHOD URL [BODY]
#
# DRY_RUN=1 prints the headers instead of sending; DATE overrides the
# date (tests). The URL's path and query are signed exactly as written, so
# write them as curl will send them. The secret is passed to openssl on its
# command line: run this only on a machine you trust.
set -euo pipefail

method=$1 url=$2 body=${3-}
: "${APP_KEY:?set APP_KEY}" "${APP_SECRET:?set APP_SECRET}"

# RFC 1123 in GMT, whatever the local zone and language.
date=${DATE:-$(LC_ALL=C TZ=GMT date '+%a, %d %b %Y %H:%M:%S GMT')}

# The request-line: path?query exactly as sent.
rest=${url#*://}
host=${rest%%[/?#]*}
uri=${rest#"$host"}
uri=${uri%%#*}
case $uri in
'') uri=/ ;;
\?*) uri=/$uri ;;
esac

headers="date request-line"
signing="date: $date"$'\n'"$method $uri HTTP/1.1"
digest=
if [ -n "$body" ]; then
	# base64 of the binary SHA-256, not hex.
	digest="SHA-256=$(printf '%s' "$body" | openssl dgst -sha256 -binary | openssl base64 -A)"
	headers="$headers digest"
	signing="$signing"$'\n'"digest: $digest"
fi
signature=$(printf '%s' "$signing" | openssl dgst -sha256 -hmac "$APP_SECRET" -binary | openssl base64 -A)
auth="hmac appkey=\"$APP_KEY\", algorithm=\"hmac-sha256\", headers=\"$headers\", signature=\"$signature\""

if [ -n "${DRY_RUN-}" ]; then
	printf 'Date: %s\n' "$date"
	[ -z "$digest" ] || printf 'Digest: %s\n' "$digest"
	printf 'Authorization: %s\n' "$auth"
	exit 0
fi
args=(-sS -X "$method" "$url" -H "Date: $date" -H "Authorization: $auth")
[ -z "$digest" ] || args+=(-H "Digest: $digest" --data-binary "$body")
exec curl "${args[@]}"
