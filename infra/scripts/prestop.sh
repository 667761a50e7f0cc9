#!/bin/sh
# slotforge preStop hook of a RedisCluster member: a master hands its slots to one of its replicas (CLUSTER FAILOVER,
# the coordinated manual failover that loses no acknowledged write) and waits until that replica IS master, so a
# rollout never kills a serving master. Falls back to CLUSTER FAILOVER FORCE after half the budget. Bounded by
# SLOTFORGE_PRESTOP_TIMEOUT_S (keep it below terminationGracePeriodSeconds). Gives up after
# SLOTFORGE_PRESTOP_PEER_WAIT_S without a replica that answers: when every pod is deleted at once (a full restart)
# the replicas are gone before their masters, and waiting for them only delayed the restart to the grace period
# (43-63 s instead of about 3 s on the local runtime). Always exits 0: Kubernetes stops the container anyway, and a
# replica or a slot-less master has nothing to hand over.
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"

TIMEOUT=${SLOTFORGE_PRESTOP_TIMEOUT_S:-30}
PEER_WAIT=${SLOTFORGE_PRESTOP_PEER_WAIT_S:-3}
SELF=$(self_ip)
start=$(now)
deadline=$((start + TIMEOUT))
force_at=$((start + TIMEOUT / 2))

nodes=$(rcli "$SELF" cluster nodes 2>/dev/null)
me=$(myself_line "$nodes")
[ -n "$me" ] || exit 0
case "$me" in *master*) ;; *) exit 0 ;; esac
line_has_slots "$me" || exit 0
myid=${me%% *}

# The first replica of this master that the bus reports connected and healthy AND that answers PING within 1 s
# (the bus flags lag: a replica whose pod is gone stays `connected` until the node timeout): prints `id ip port`.
pick_replica() {
  rcli "$SELF" cluster nodes 2>/dev/null | while read -r _id _addr _flags _master _p _q _e _link _rest; do
    [ "$_master" = "$myid" ] || continue
    case "$_flags" in *fail*) continue ;; esac
    [ "$_link" = connected ] || continue
    [ "$(rcli_within 1 "$(addr_ip "$_addr")" "$(addr_port "$_addr")" ping 2>/dev/null)" = PONG ] || continue
    printf '%s %s %s\n' "$_id" "$(addr_ip "$_addr")" "$(addr_port "$_addr")"
    break
  done
}

# First line of ROLE at HOST PORT: master, slave, or empty when it does not answer within 1 s.
role_at() { rcli_within 1 "$1" "$2" role 2>/dev/null | head -n 1; }

mode=''
answered=$start
while [ "$(now)" -lt "$deadline" ]; do
  set -- $(pick_replica)
  if [ "$#" -lt 3 ]; then
    if [ $(($(now) - answered)) -ge "$PEER_WAIT" ]; then
      log "no replica of $myid answers for ${PEER_WAIT}s (gone: e.g. every pod is being deleted); stopping without a hand-over"
      exit 0
    fi
    log "no connected replica of $myid answers yet"
    sleep 0.5 2>/dev/null || sleep 1
    continue
  fi
  answered=$(now)
  id=$1 ip=$2 port=$3
  if [ "$(now)" -ge "$force_at" ] && [ "$mode" != force ]; then mode=force; fi
  reply=$(rcli_at "$ip" "$port" cluster failover $mode 2>&1)
  log "CLUSTER FAILOVER $mode on replica $id ($ip:$port): ${reply:-no answer}"
  # Wait for this attempt: a manual failover times out after about 5 s (CLUSTER_MF_TIMEOUT) on the Redis side. A
  # replica that stops answering meanwhile is picked again (or given up on) at once.
  until_t=$(($(now) + 6))
  while [ "$(now)" -lt "$until_t" ] && [ "$(now)" -lt "$deadline" ]; do
    case "$(role_at "$ip" "$port")" in
    master)
      log "replica $id ($ip:$port) is master after $(($(now) - start))s; stopping"
      exit 0
      ;;
    '')
      log "replica $id ($ip:$port) stopped answering"
      break
      ;;
    esac
    sleep 0.2 2>/dev/null || sleep 1
  done
done
log "no replica became master within ${TIMEOUT}s; stopping anyway"
exit 0
