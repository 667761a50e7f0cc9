#!/bin/sh
# slotforge scaling of a RedisCluster, run by the topology Job after bootstrap.sh (which has met every member and
# attached replicas). Idempotent: a balanced cluster without retiring shards is left alone.
#  - scale out: `redis-cli --cluster rebalance --cluster-use-empty-masters` moves slots onto the new, empty shards;
#  - scale in: shards numbered SHARDS .. SHARDS+RETIRING-1 get weight 0, so rebalance moves every slot off them
#    (keys migrate with MIGRATE: no data is lost), then their members are reset and forgotten.
# The retiring StatefulSets are deleted by the next apply without retiringShards.
set -eu
# shellcheck disable=SC2086 # TLS_ARGS is a list of arguments
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"

read_topology
SEED=$(member_ip 0 0)
export REDISCLI_AUTH
REDISCLI_AUTH=$(secret admin)

# Ids of every member of shard $1 (as the members report themselves).
shard_ids() {
  _r=0
  while [ "$_r" -lt "$SIZE" ]; do
    _ip=$(member_ip "$1" "$_r")
    [ -n "$_ip" ] && rcli "$_ip" cluster myid 2>/dev/null && echo
    _r=$((_r + 1))
  done
}

weights=''
retiring_ids=''
s=$SHARDS
while [ "$s" -lt $((SHARDS + RETIRING)) ]; do
  for id in $(shard_ids "$s"); do
    retiring_ids="$retiring_ids $id"
    weights="$weights $id=0"
  done
  s=$((s + 1))
done

# Moving slots takes as long as the keys take to MIGRATE, so the rebalance gets its own deadline (the construct's
# scriptTimeouts.rebalanceSeconds), 600 s below the Job's activeDeadlineSeconds, instead of the per-call CLI_TIMEOUT:
# a frozen member never hangs the Job for good.
REBALANCE_TIMEOUT=${SLOTFORGE_REBALANCE_TIMEOUT_S:-3000}
log "rebalancing${weights:+ (draining$weights)}"
if [ -n "$weights" ]; then
  # shellcheck disable=SC2086
  timeout "$REBALANCE_TIMEOUT" redis-cli $TLS_ARGS --no-auth-warning --cluster rebalance "$SEED:$REDIS_PORT" \
    --cluster-use-empty-masters --cluster-weight $weights >&2 ||
    die "redis-cli --cluster rebalance failed or passed SLOTFORGE_REBALANCE_TIMEOUT_S=${REBALANCE_TIMEOUT}s"
else
  timeout "$REBALANCE_TIMEOUT" redis-cli $TLS_ARGS --no-auth-warning --cluster rebalance "$SEED:$REDIS_PORT" \
    --cluster-use-empty-masters >&2 ||
    die "redis-cli --cluster rebalance failed or passed SLOTFORGE_REBALANCE_TIMEOUT_S=${REBALANCE_TIMEOUT}s"
fi

# Retired members leave the cluster: each is reset (it forgets the cluster and takes a new id, so it cannot gossip its
# way back in), then every remaining member forgets its old id. Replicas before masters: a master must be drained
# and have no replica left before RESET. (`redis-cli --cluster del-node` would SHUTDOWN the node instead, and a
# container restart would bring it back with its old nodes.conf.)
retired=''
for pass in slave master; do
  for id in $retiring_ids; do
    line=$(rcli "$SEED" cluster nodes | grep "^$id " || true)
    [ -n "$line" ] || continue
    set -f
    # shellcheck disable=SC2086
    set -- $line
    set +f
    case ",$3," in *",$pass,"*) ;; *) continue ;; esac
    log "resetting retired member $id ($(addr_host "$2"))"
    reply=$(rcli_at "$(addr_ip "$2")" "$(addr_port "$2")" cluster reset hard)
    [ "$reply" = OK ] || die "CLUSTER RESET on retired member $id: $reply"
    retired="$retired $id"
  done
done
# Rounds until every remaining member has forgotten every retired id: a member that missed its FORGET (a call cut
# off on a loaded node) would keep the retired node, failing, for good once its pod is pruned.
round=0
while [ -n "$retired" ] && [ "$round" -lt 20 ]; do
  round=$((round + 1))
  nodes=$(rcli "$SEED" cluster nodes)
  pending=$(printf '%s\n' "$nodes" | while read -r _id _addr _rest; do
    [ -n "$_id" ] || continue
    for id in $retired; do
      [ "$_id" = "$id" ] && continue 2
    done
    for id in $retired; do
      reply=$(rcli_at "$(addr_ip "$_addr")" "$(addr_port "$_addr")" cluster forget "$id" 2>&1)
      case "$reply" in OK | *'Unknown node'*) ;; *) printf '%s ' "$(addr_ip "$_addr")" ;; esac
    done
  done)
  # An empty listing (the seed did not answer) proves nothing: go round again.
  [ -n "$nodes" ] && [ -z "$pending" ] && break
  log "retired members not yet forgotten at: ${pending:-(seed did not answer)}; again in 1 s"
  sleep 1
done

fails=$(timeout 60 redis-cli $TLS_ARGS --no-auth-warning --cluster check "$SEED:$REDIS_PORT" 2>&1 | grep -c '^\[ERR\]' || true)
[ "$fails" = 0 ] || die "redis-cli --cluster check reports $fails errors after scaling"
log "scaling done: $SHARDS shards"
