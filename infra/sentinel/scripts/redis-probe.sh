#!/bin/sh
# slotforge readiness probe of a RedisSentinel data pod, as the least-privileged `probe` user (liveness is the
# cluster's probe.sh): PONG, and either this pod is the primary or its link to the primary is up (a replica in a full
# sync serves no reads yet).
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"

# The whole probe (PING and INFO through probe_cli) is bounded by CLI_TIMEOUT of lib.sh (3 s, 2 s below the probe's
# timeoutSeconds of 5 s).
deadline_set "$CLI_TIMEOUT"

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
