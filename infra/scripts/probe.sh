#!/bin/sh
# slotforge probes of a RedisCluster member, as the least-privileged `probe` user.
#   liveness:  the server answers; LOADING (a large AOF being read) and MASTERDOWN count as alive.
#   readiness: PONG, cluster_state:ok, and no empty-master guard in force.
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"

# Bounded by CLI_TIMEOUT (scriptTimeouts.redisCliSeconds, 3 s), 2 s below the probes' timeoutSeconds (5 s): no answer in time fails the probe with a
# message instead of leaving the kubelet to cut it off.
# shellcheck disable=SC2086
probe_cli() { REDISCLI_AUTH=$(secret probe) timeout "$CLI_TIMEOUT" redis-cli $TLS_ARGS --no-auth-warning --user probe -h "$(self_ip)" -p "$REDIS_PORT" "$@" 2>&1 | tr -d '\r'; }

case "${1:-}" in
liveness)
  reply=$(probe_cli ping)
  case "$reply" in PONG | LOADING* | MASTERDOWN* | BUSY*) exit 0 ;; esac
  echo "liveness: $reply"
  exit 1
  ;;
readiness)
  [ -e "$RUN_DIR/guard" ] && {
    echo 'readiness: empty-master guard in force'
    exit 1
  }
  reply=$(probe_cli ping)
  [ "$reply" = PONG ] || {
    echo "readiness: $reply"
    exit 1
  }
  state=$(info_field "$(probe_cli cluster info)" cluster_state)
  [ "$state" = ok ] || {
    echo "readiness: cluster_state is '$state'"
    exit 1
  }
  ;;
*)
  echo "usage: probe.sh liveness|readiness"
  exit 2
  ;;
esac
