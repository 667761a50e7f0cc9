#!/bin/sh
# kubectl of the slotforge local runtime (the image table maps kubectl images here). It speaks to the runtime's object
# store, a directory mounted into pods whose service account token is mounted: only what the charts' Jobs need.
#   kubectl get secret NAME                                     exit 0 when it exists, 1 (NotFound) otherwise
#   kubectl create secret generic NAME --from-file=KEY=PATH... --from-literal=KEY=VALUE...
# Options -n/--namespace NS; the default namespace is the pod's own.
set -eu
LOCAL=${SLOTFORGE_LOCAL_DIR:-/run/slotforge-local}
API="$LOCAL/api"
ns=$(cat "$LOCAL/namespace" 2>/dev/null || echo default)
fail() {
  echo "$*" >&2
  exit 1
}
[ -d "$API" ] || fail "error: no API in reach (the local runtime mounts it only where automountServiceAccountToken is not false)"
set -- "$@" ''
args=''
while [ "$1" != '' ]; do
  case "$1" in
  -n | --namespace)
    ns=$2
    shift 2
    ;;
  --namespace=*)
    ns=${1#--namespace=}
    shift
    ;;
  *)
    args="$args $(printf '%s' "$1" | sed 's/ /\\ /g')"
    shift
    ;;
  esac
done
# shellcheck disable=SC2086
set -- $args
dir="$API/$ns/secrets"
case "${1:-} ${2:-}" in
'get secret' | 'get secrets' | 'get secret/'*)
  name=${3:-${2#secret/}}
  [ -d "$dir/$name" ] || fail "Error from server (NotFound): secrets \"$name\" not found"
  echo "$name"
  ;;
'create secret')
  [ "${3:-}" = generic ] || fail "error: the local runtime's kubectl creates only generic secrets (got '${3:-}')"
  name=${4:?secret name}
  shift 4
  [ -e "$dir/$name" ] && fail "Error from server (AlreadyExists): secrets \"$name\" already exists"
  mkdir -p "$dir"
  tmp="$dir/.$name.$$"
  mkdir "$tmp"
  for arg in "$@"; do
    case "$arg" in
    --from-file=*=*)
      spec=${arg#--from-file=}
      cp "${spec#*=}" "$tmp/${spec%%=*}"
      ;;
    --from-literal=*=*)
      spec=${arg#--from-literal=}
      printf '%s' "${spec#*=}" >"$tmp/${spec%%=*}"
      ;;
    *) fail "error: unsupported argument '$arg' (the local runtime's kubectl takes --from-file=KEY=PATH and --from-literal=KEY=VALUE)" ;;
    esac
  done
  mv "$tmp" "$dir/$name"
  echo "secret/$name created"
  ;;
*) fail "error: the local runtime's kubectl supports 'get secret NAME' and 'create secret generic NAME' (got '$*')" ;;
esac
