#!/bin/sh
# slotforge preStop hook of a RedisCluster member: a master hands its slots to one of its replicas (CLUSTER FAILOVER,
# the coordinated manual failover that loses no acknowledged write) and waits until that replica IS master, so a
# rollout never kills a serving master. Falls back to CLUSTER FAILOVER FORCE after half the budget. Bounded by
# SLOTFORGE_PRESTOP_TIMEOUT_S (keep it below terminationGracePeriodSeconds). Always exits 0: Kubernetes stops the
# container anyway, and a replica or a slot-less master has nothing to hand over.
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"

TIMEOUT=${SLOTFORGE_PRESTOP_TIMEOUT_S:-30}
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

# The first connected, healthy replica of this master: prints `id ip port`.
pick_replica() {
  rcli "$SELF" cluster nodes 2>/dev/null | while read -r _id _addr _flags _master _p _q _e _link _rest; do
    [ "$_master" = "$myid" ] || continue
    case "$_flags" in *fail*) continue ;; esac
    [ "$_link" = connected ] || continue
    printf '%s %s %s\n' "$_id" "$(addr_ip "$_addr")" "$(addr_port "$_addr")"
    break
  done
}

is_master() {
  _role=$(rcli_at "$1" "$2" role 2>/dev/null)
  [ "${_role%%
*}" = master ]
}

mode=''
while [ "$(now)" -lt "$deadline" ]; do
  set -- $(pick_replica)
  if [ "$#" -lt 3 ]; then
    log "no connected replica of $myid yet"
    sleep 1
    continue
  fi
  id=$1 ip=$2 port=$3
  if [ "$(now)" -ge "$force_at" ] && [ "$mode" != force ]; then mode=force; fi
  reply=$(rcli_at "$ip" "$port" cluster failover $mode 2>&1)
  log "CLUSTER FAILOVER $mode on replica $id ($ip:$port): $reply"
  # Wait for this attempt: a manual failover times out after about 5 s (CLUSTER_MF_TIMEOUT) on the Redis side.
  until_t=$(($(now) + 6))
  while [ "$(now)" -lt "$until_t" ] && [ "$(now)" -lt "$deadline" ]; do
    if is_master "$ip" "$port"; then
      log "replica $id ($ip:$port) is master after $(($(now) - start))s; stopping"
      exit 0
    fi
    sleep 0.2 2>/dev/null || sleep 1
  done
done
log "no replica became master within ${TIMEOUT}s; stopping anyway"
exit 0
