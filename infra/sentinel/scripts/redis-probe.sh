#!/bin/sh
# slotforge readiness probe of a RedisSentinel data pod, as the least-privileged `probe` user (liveness is the
# cluster's probe.sh): PONG, and either this pod is the primary or its link to the primary is up (a replica in a full
# sync serves no reads yet).
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"

# Bounded like every redis-cli call (CLI_TIMEOUT of lib.sh, below the probe's timeoutSeconds).
probe_cli() {
  REDISCLI_AUTH=$(secret probe) timeout "$CLI_TIMEOUT" redis-cli --no-auth-warning --user probe -h "$(self_ip)" -p "$REDIS_PORT" "$@" 2>&1 |
    tr -d '\r'
}

case "${1:-}" in
readiness)
  reply=$(probe_cli ping)
  [ "$reply" = PONG ] || {
    echo "readiness: $reply"
    exit 1
  }
  info=$(probe_cli info replication)
  [ "$(info_field "$info" role)" = master ] && exit 0
  link=$(info_field "$info" master_link_status)
  [ "$link" = up ] || {
    echo "readiness: replica link is '$link'"
    exit 1
  }
  ;;
*)
  echo "usage: redis-probe.sh readiness"
  exit 2
  ;;
esac
