#!/bin/sh
# slotforge preStop hook of a RedisSentinel data pod. On the primary:
#  1. CLIENT PAUSE WRITE: clients' writes wait (they are not refused), so nothing is acknowledged here that the
#     successor would not have. SENTINEL FAILOVER alone is not coordinated: writes acknowledged by the old primary
#     after the replica's promotion are dropped when it turns into a replica (measured: 46 of 182 in 1.3 s);
#  2. waits until the replicas have replicated everything (their offsets reach the primary's), bounded;
#  3. SENTINEL FAILOVER (a sentinel promotes a replica without waiting for the primary to fail) and waits until a
#     majority of the sentinels name another pod AND that pod answers ROLE master (hand_over in sentinel-lib.sh).
#     The sentinel then makes this pod a replica and disconnects its clients (CLIENT KILL TYPE normal), whose paused
#     writes were never executed: they retry against the successor;
#  4. CLIENT UNPAUSE, also when no hand-over happened (the pod then keeps serving until it is stopped).
# Bounded by SLOTFORGE_PRESTOP_TIMEOUT_S (below the grace period). Always exits 0: Kubernetes stops the container
# anyway; a replica has nothing to hand over.
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"
. "$CONFIG_DIR/sentinel-lib.sh"

TIMEOUT=${SLOTFORGE_PRESTOP_TIMEOUT_S:-30}
SELF=$(self_ip)
start=$(now)

[ "$(role_of "$SELF" "$REDIS_PORT")" = master ] || exit 0

# Whether every online replica's offset has reached this primary's replication offset.
replicas_caught_up() {
  _info=$(rcli "$SELF" info replication)
  _offset=$(info_field "$_info" master_repl_offset)
  _behind=$(printf '%s\n' "$_info" | grep '^slave[0-9]*:' | tr ',' '\n' | grep '^offset=' | cut -d= -f2 |
    while read -r _o; do [ "$_o" -lt "$_offset" ] && echo behind; done)
  [ -z "$_behind" ]
}

log "pausing writes for the hand-over: $(rcli "$SELF" client pause $((TIMEOUT * 1000)) write)"
wait_for 5 replicas_caught_up || log "replicas did not catch up within 5s; handing over anyway"
if hand_over $((start + TIMEOUT)); then
  log "$(majority_primary) is primary after $(($(now) - start))s; stopping"
else
  log "no other pod became primary within ${TIMEOUT}s; stopping anyway"
fi
rcli "$SELF" client unpause >/dev/null 2>&1
exit 0
