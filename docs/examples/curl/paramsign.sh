#!/usr/bin/env bash
# Parameter-sign a GET request with openssl and send it with curl.
#
#   APP_KEY=K APP_SECRET=S ./paramsign.sh URL name=value...
#
# The parameters are given decoded, one argument each; curl encodes them.
# apiTimestamp is added unless NO_TIMESTAMP=1; TIMESTAMP overrides it
# (tests). DRY_RUN=1 prints the signed parameters instead of sending.
# Values must not contain line breaks.
set -euo pipefail

url=$1
shift
: "${APP_KEY:?set APP_KEY}" "${APP_SECRET:?set APP_SECRET}"

params=("$@" "appKey=$APP_KEY")
[ -n "${NO_TIMESTAMP-}" ] || params+=("apiTimestamp=${TIMESTAMP:-$(date +%s)}")

# Sort by name in byte order, stably (repeated names keep their order),
# join with &, append the secret, SHA-512 in lowercase hex.
canonical=$(printf '%s\n' "${params[@]}" | LC_ALL=C sort -s -t= -k1,1 | paste -sd'&' -)
sign=$(printf '%s%s' "$canonical" "$APP_SECRET" | openssl dgst -sha512 -r | cut -d' ' -f1)

if [ -n "${DRY_RUN-}" ]; then
	printf 'canonical: %s\nsign: %s\n' "$canonical" "$sign"
	exit 0
fi
args=(-sS -G "$url")
for p in "${params[@]}" "sign=$sign"; do
	args+=(--data-urlencode "$p")
done
exec curl "${args[@]}"
