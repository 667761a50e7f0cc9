#!/bin/sh
# slotforge preStop hook of a RedisSentinel data pod. On the primary: SENTINEL FAILOVER (a sentinel promotes a replica
# without waiting for the primary to fail), then waits until a majority of the sentinels name another pod AND that
# pod answers ROLE master, so a rollout or drain never stops a serving primary without a successor (hand_over in
# sentinel-lib.sh). Bounded by SLOTFORGE_PRESTOP_TIMEOUT_S (below the grace period). Always exits 0: Kubernetes stops
# the container anyway; a replica has nothing to hand over.
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"
. "$CONFIG_DIR/sentinel-lib.sh"

TIMEOUT=${SLOTFORGE_PRESTOP_TIMEOUT_S:-30}
start=$(now)

[ "$(role_of "$(self_ip)" "$REDIS_PORT")" = master ] || exit 0

if hand_over $((start + TIMEOUT)); then
  log "$(majority_primary) is primary after $(($(now) - start))s; stopping"
else
  log "no other pod became primary within ${TIMEOUT}s; stopping anyway"
fi
exit 0
