#!/bin/sh
# slotforge preStop hook of a RedisCluster member: a master hands its slots to one of its replicas (CLUSTER FAILOVER,
# the coordinated manual failover: the master pauses writes until the replica has its offset, so no acknowledged
# write is lost) and waits until that replica IS master, so a rollout never kills a serving master.
# Never onto a replica that is behind: only a replica with master_link_status:up and no sync in progress is a
# candidate (the one with the highest offset), and CLUSTER FAILOVER FORCE, which skips the offset handshake, is used
# after half the budget only when the replica's offset equals this master's (a lagging replica promoted by FORCE loses
# every write it had not received). Bounded by SLOTFORGE_PRESTOP_TIMEOUT_S (keep it below
# terminationGracePeriodSeconds). Gives up after SLOTFORGE_PRESTOP_PEER_WAIT_S without a replica that answers: when
# every pod is deleted at once (a full restart) the replicas are gone before their masters, and waiting for them only
# delayed the restart to the grace period (43-63 s instead of about 3 s on the local runtime). A replica that answers
# but is still syncing is waited for until the budget ends. Always exits 0: Kubernetes stops the container anyway,
# and a replica or a slot-less master has nothing to hand over.
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

# Every replica of this master that the bus reports connected and healthy AND that answers within 1 s (the bus flags
# lag: a replica whose pod is gone stays `connected` until the node timeout), one line each:
# `id ip port in-sync offset`, in-sync being yes only with master_link_status:up and no sync in progress.
replicas() {
  rcli "$SELF" cluster nodes 2>/dev/null | while read -r _id _addr _flags _master _p _q _e _link _rest; do
    [ "$_master" = "$myid" ] || continue
    case "$_flags" in *fail*) continue ;; esac
    [ "$_link" = connected ] || continue
    _ip=$(addr_ip "$_addr")
    _port=$(addr_port "$_addr")
    _info=$(rcli_within 1 "$_ip" "$_port" info replication 2>/dev/null)
    [ -n "$_info" ] || continue
    _sync=no
    [ "$(info_field "$_info" master_link_status)" = up ] &&
      [ "$(info_field "$_info" master_sync_in_progress)" = 0 ] && _sync=yes
    printf '%s %s %s %s %s\n' "$_id" "$_ip" "$_port" "$_sync" "$(info_field "$_info" slave_repl_offset)"
  done
}

# The in-sync replica with the highest offset: `id ip port offset`.
best_replica() {
  printf '%s\n' "$1" | while read -r _id _ip _port _sync _offset; do
    [ "$_sync" = yes ] && printf '%s %s %s %s\n' "${_offset:-0}" "$_id" "$_ip" "$_port"
  done | sort -rn | head -n 1 | while read -r _offset _id _ip _port; do printf '%s %s %s %s' "$_id" "$_ip" "$_port" "$_offset"; done
}

# First line of ROLE at HOST PORT: master, slave, or empty when it does not answer within 1 s.
role_at() { rcli_within 1 "$1" "$2" role 2>/dev/null | head -n 1; }
# This master's replication offset.
my_offset() { info_field "$(rcli "$SELF" info replication 2>/dev/null)" master_repl_offset; }

answered=$start
while [ "$(now)" -lt "$deadline" ]; do
  all=$(replicas)
  if [ -z "$all" ]; then
    if [ $(($(now) - answered)) -ge "$PEER_WAIT" ]; then
      log "no replica of $myid answers for ${PEER_WAIT}s (gone: e.g. every pod is being deleted); stopping without a hand-over"
      exit 0
    fi
    log "no connected replica of $myid answers yet"
    sleep 0.5 2>/dev/null || sleep 1
    continue
  fi
  answered=$(now)
  # shellcheck disable=SC2046
  set -- $(best_replica "$all")
  if [ "$#" -lt 4 ]; then
    log "no replica of $myid is in sync yet (link down or full sync in progress); not handing over to it"
    sleep 0.5 2>/dev/null || sleep 1
    continue
  fi
  id=$1 ip=$2 port=$3 offset=$4
  mode=''
  if [ "$(now)" -ge "$force_at" ]; then
    mine=$(my_offset)
    if [ -n "$mine" ] && [ "$offset" = "$mine" ]; then
      mode=force
    else
      log "not forcing: replica $id is at offset $offset, this master at ${mine:-unknown}"
    fi
  fi
  reply=$(rcli_at "$ip" "$port" cluster failover $mode 2>&1)
  log "CLUSTER FAILOVER $mode on replica $id ($ip:$port, offset $offset): ${reply:-no answer}"
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
log "no in-sync replica became master within ${TIMEOUT}s; stopping without a hand-over (the cluster fails over after its node timeout)"
exit 0
