#!/bin/sh
# slotforge readiness probe of a RedisSentinel data pod, as the least-privileged `probe` user (liveness is the
# cluster's probe.sh): PONG, and either this pod is the primary or its link to the primary is up (a replica in a full
# sync serves no reads yet).
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"

# The whole probe is bounded by CLI_TIMEOUT of lib.sh (3 s, 2 s below the probe's timeoutSeconds of 5 s); each call
# gets what is left of that deadline, so PING and INFO together never outlast it.
deadline_set "$CLI_TIMEOUT"
probe_cli() {
  _left=$(deadline_left) || {
    echo "probe deadline of ${CLI_TIMEOUT}s passed before: $*"
    return 0
  }
  REDISCLI_AUTH=$(secret probe) timeout "$_left" redis-cli --no-auth-warning --user probe -h "$(self_ip)" \
    -p "$REDIS_PORT" "$@" 2>&1 | tr -d '\r'
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
