#!/usr/bin/env bash
# Sign one request as Alibaba Cloud API Gateway's SDKs do (xca) with
# openssl, and send it with curl.
#
#   APP_KEY=K APP_SECRET=S ./xca.sh METHOD URL [JSON_BODY]
#
# A body is sent as application/json with its Content-MD5. DRY_RUN=1
# prints the headers instead of sending; TIMESTAMP (Unix milliseconds) and
# NONCE override the fresh ones (tests). The URL's path is signed exactly
# as written; its query parameters are signed decoded and sorted. The
# secret is passed to openssl on its command line: run this only on a
# machine you trust.
set -euo pipefail

method=$1 url=$2 body=${3-}
: "${APP_KEY:?set APP_KEY}" "${APP_SECRET:?set APP_SECRET}"
timestamp=${TIMESTAMP:-$(date +%s%3N)} # milliseconds (GNU date)
nonce=${NONCE:-$(cat /proc/sys/kernel/random/uuid)}
accept=application/json # sent explicitly: curl's default */* would be signed otherwise

rest=${url#*://}
host=${rest%%[/?#]*}
uri=${rest#"$host"}
uri=${uri%%#*}
case $uri in
'') uri=/ ;;
\?*) uri=/$uri ;;
esac
path=${uri%%\?*}
query=
[[ $uri != *\?* ]] || query=${uri#*\?}

# PathAndParameters: the path as sent, then the parameters decoded ('+' is
# a space, then %XX), sorted by name in byte order, the first value of a
# repeated name, and a name alone when its value is empty.
decode() {
	local s=${1//+/ }
	printf '%b' "${s//%/\\x}"
}
declare -A params=()
IFS='&' read -ra pairs <<<"$query"
for pair in "${pairs[@]}"; do
	[ -n "$pair" ] || continue
	k=$(decode "${pair%%=*}")
	v=
	[[ $pair != *=* ]] || v=$(decode "${pair#*=}")
	[ -n "$k" ] || continue
	[[ -v params[$k] ]] || params[$k]=$v
done
pp=$path sep='?'
if [ ${#params[@]} -gt 0 ]; then
	while IFS= read -r k; do
		pp+="$sep$k"
		[ -z "${params[$k]}" ] || pp+="=${params[$k]}"
		sep='&'
	done < <(printf '%s\n' "${!params[@]}" | LC_ALL=C sort)
fi

ctype= md5=
if [ -n "$body" ]; then
	ctype=application/json
	# base64 of the binary MD5, not hex.
	md5=$(printf '%s' "$body" | openssl dgst -md5 -binary | openssl base64 -A)
fi
# METHOD, Accept, Content-MD5, Content-Type, Date (none sent), the signed
# X-Ca-* headers sorted, then PathAndParameters; no final newline.
sts="$method"$'\n'"$accept"$'\n'"$md5"$'\n'"$ctype"$'\n'$'\n'
sts+="X-Ca-Key:$APP_KEY"$'\n'"X-Ca-Nonce:$nonce"$'\n'"X-Ca-Timestamp:$timestamp"$'\n'"$pp"
signature=$(printf '%s' "$sts" | openssl dgst -sha256 -hmac "$APP_SECRET" -binary | openssl base64 -A)

headers=(
	"Accept: $accept"
	"X-Ca-Key: $APP_KEY"
	"X-Ca-Timestamp: $timestamp"
	"X-Ca-Nonce: $nonce"
	"X-Ca-Signature-Headers: X-Ca-Key,X-Ca-Nonce,X-Ca-Timestamp"
	"X-Ca-Signature: $signature"
)
[ -z "$body" ] || headers+=("Content-Type: $ctype" "Content-MD5: $md5")
if [ -n "${DRY_RUN-}" ]; then
	printf '%s\n' "${headers[@]}"
	exit 0
fi
args=(-sS -X "$method" "$url")
for h in "${headers[@]}"; do
	args+=(-H "$h")
done
[ -z "$body" ] || args+=(--data-binary "$body")
exec curl "${args[@]}"
