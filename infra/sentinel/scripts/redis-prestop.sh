#!/bin/sh
# slotforge preStop hook of a RedisSentinel data pod. On the primary: SENTINEL FAILOVER (a sentinel promotes a replica
# without waiting for the primary to fail), then waits until a majority of the sentinels name another pod AND that
# pod answers ROLE master, so a rollout or drain never stops a serving primary without a successor. Tries each
# sentinel in turn (INPROG, NOGOODSLAVE right after a restart). Bounded by SLOTFORGE_PRESTOP_TIMEOUT_S (below the grace period).
# Always exits 0: Kubernetes stops the container anyway; a replica has nothing to hand over.
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"
. "$CONFIG_DIR/sentinel-lib.sh"

TIMEOUT=${SLOTFORGE_PRESTOP_TIMEOUT_S:-30}
start=$(now)
deadline=$((start + TIMEOUT))
me=$(self_fqdn)

[ "$(role_of "$(self_ip)" "$REDIS_PORT")" = master ] || exit 0

# Whether a majority of the sentinels name a primary other than this pod, and that pod answers ROLE master: clients
# asking any sentinel of that majority find the successor.
handed_over() {
  # shellcheck disable=SC2046
  set -- $(majority_primary)
  [ "$#" -eq 2 ] && [ "$1" != "$me" ] && [ "$1" != "$(self_ip)" ] && [ "$(role_of "$1" "$2")" = master ]
}

i=0
while [ "$(now)" -lt "$deadline" ]; do
  sentinel=$(pod_fqdn "$(sentinel_pod $((i % SENTINELS)))")
  i=$((i + 1))
  reply=$(scli "$sentinel" sentinel failover "$MASTER_NAME")
  log "SENTINEL FAILOVER $MASTER_NAME via $sentinel: ${reply:-no answer}"
  case "$reply" in OK | INPROG*) ;; *)
    sleep 1
    continue
    ;;
  esac
  # A failover finishes within the failover-timeout; the other sentinels learn it from hello messages (every 2 s).
  until_t=$(($(now) + ${SLOTFORGE_FAILOVER_WAIT_S:-15}))
  while [ "$(now)" -lt "$until_t" ] && [ "$(now)" -lt "$deadline" ]; do
    if handed_over; then
      log "$(majority_primary) is primary after $(($(now) - start))s; stopping"
      exit 0
    fi
    sleep 0.2 2>/dev/null || sleep 1
  done
done
log "no other pod became primary within ${TIMEOUT}s; stopping anyway"
exit 0
