#!/bin/sh
# slotforge: renders the auth Secret of a deployment as a manifest for `kubectl apply --server-side`, in the init
# container (the Redis image: sh and coreutils) of the auth Job; the Job's kubectl container (no shell) applies it.
# Idempotent: every key the Secret already holds (mounted as an optional volume at SLOTFORGE_CURRENT_DIR) keeps its
# value; only missing keys get 32 random bytes from /dev/urandom as hex (no character that needs quoting in redis.conf
# or an ACL rule). No value is ever logged.
# Env: SLOTFORGE_SECRET (name), SLOTFORGE_SECRET_KEYS (space-separated), SLOTFORGE_CURRENT_DIR, SLOTFORGE_WORK_DIR (an
# in-memory emptyDir shared with the kubectl container), POD_NAMESPACE, SLOTFORGE_SECRET_LABELS (`k=v k=v`).
set -eu
name=${SLOTFORGE_SECRET:?}
current=${SLOTFORGE_CURRENT_DIR:-/current}
work=${SLOTFORGE_WORK_DIR:-/work}
out="$work/secret.json"
log() { printf '%s slotforge[generate-secret.sh]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

umask 077
kept=''
made=''
data=''
for key in ${SLOTFORGE_SECRET_KEYS:?}; do
  if [ -s "$current/$key" ]; then
    value=$(base64 -w0 <"$current/$key")
    kept="$kept $key"
  else
    value=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | base64 -w0)
    made="$made $key"
  fi
  data="$data${data:+,
}    \"$key\": \"$value\""
done
labels=''
for pair in ${SLOTFORGE_SECRET_LABELS:-}; do
  labels="$labels${labels:+,
}      \"${pair%%=*}\": \"${pair#*=}\""
done
cat >"$out.tmp" <<JSON
{
  "apiVersion": "v1",
  "kind": "Secret",
  "metadata": {
    "name": "$name",
    "namespace": "${POD_NAMESPACE:?}",
    "labels": {
$labels
    }
  },
  "type": "Opaque",
  "data": {
$data
  }
}
JSON
mv "$out.tmp" "$out"
log "secret $name: kept${kept:- no key}, generated${made:- no key}; the kubectl container applies $out"
