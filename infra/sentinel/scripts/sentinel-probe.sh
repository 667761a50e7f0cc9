#!/bin/sh
# slotforge probes of a sentinel.
#   liveness:  PING answers PONG.
#   readiness: the sentinel names a primary (clients asking it get an answer).
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"
. "$CONFIG_DIR/sentinel-lib.sh"

case "${1:-}" in
liveness)
  reply=$(scli "$(self_ip)" ping)
  [ "$reply" = PONG ] || {
    echo "liveness: ${reply:-no answer}"
    exit 1
  }
  ;;
readiness)
  primary=$(sentinel_primary "$(self_ip)")
  [ -n "$primary" ] || {
    echo "readiness: no primary known for $MASTER_NAME"
    exit 1
  }
  ;;
*)
  echo "usage: sentinel-probe.sh liveness|readiness"
  exit 2
  ;;
esac
