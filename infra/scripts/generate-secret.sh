#!/bin/sh
# slotforge: creates the auth Secret of a RedisCluster once, in the cluster, so no password is ever written into a
# manifest. Runs in the kubectl image of the secret Job; leaves an existing Secret untouched (idempotent).
# Env: SLOTFORGE_SECRET (name), SLOTFORGE_SECRET_KEYS (space-separated keys), SLOTFORGE_WORK_DIR (an emptyDir).
set -eu
name=${SLOTFORGE_SECRET:?}
work=${SLOTFORGE_WORK_DIR:-/work}
if kubectl get secret "$name" >/dev/null 2>&1; then
  echo "secret $name exists; leaving it as it is"
  exit 0
fi
umask 077
args=''
for key in ${SLOTFORGE_SECRET_KEYS:?}; do
  # 32 random bytes as hex: no characters that need quoting in redis.conf or ACL rules.
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/$key"
  args="$args --from-file=$key=$work/$key"
done
# shellcheck disable=SC2086
kubectl create secret generic "$name" $args
rm -f "$work"/*
echo "secret $name created"
