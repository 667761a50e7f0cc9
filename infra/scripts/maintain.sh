#!/bin/sh
# slotforge maintenance loop of a RedisCluster member, started in the background by entrypoint.sh; it ends when the
# redis-server pid given as $1 is gone.
# - Guard: when entrypoint.sh started this node as a guarded master (empty, or a replica holds what its AOF may lack),
#   promote one of its replicas (CLUSTER FAILOVER FORCE: the replica has the data), wait until this node is a replica,
#   then enable the application and replication users. Bounded by SLOTFORGE_GUARD_TIMEOUT_S.
# - Re-MEET: a peer marked fail/pfail whose hostname now resolves to another address is met again at that address
#   (the fallback when nodes.conf could not be repaired at start, e.g. the peer had no IP yet), unless it belongs to a
#   drained shard (scale in).
# - Ghosts: a failed node without slots whose hostname resolves to the address of a live node is a previous identity
#   of that pod (its volume was lost); a failing node without hostname (learnt by gossip after the others forgot it)
#   that the live masters no longer know is a leftover. Either is forgotten only on strong evidence: the cluster is
#   formed (all slots assigned, cluster_state ok: never while the topology is forming or the cluster is down), a
#   majority of the live masters agree (they flag it fail or noaddr, or do not know it; fail? counts as well for a
#   node whose pod has no DNS record or whose address is another node's; a master that does not answer counts
#   against), and all of that held on every pass for SLOTFORGE_FORGET_AFTER_S. "Failing" alone is not evidence: an
#   overloaded, throttled or forking member is flagged fail and comes back (issue 15: the old rule forgot healthy
#   members of a 60-node cluster as it formed).
# - Rejoin: a node that is alone while a peer of its shard belongs to a formed cluster meets that peer and replicates
#   the shard's master, unless that master owns no slot (a shard drained for scale in).
# - Replication target: a replica whose master link is down and whose replication still targets an address its
#   master left (learnt by gossip, which Redis 7.0 does not pass on to replication) replicates that master again.
# - Open slots: a slot this master has marked MIGRATING or IMPORTING for longer than SLOTFORGE_OPEN_SLOT_BOUND_S (a
#   reshard, rebalance or scale step cut off by a killed node: Redis 7.0 keeps the markers in nodes.conf and nothing
#   closes them) is closed by finishing the move forward with the migration protocol (docs/cluster-setup.md, "Open
#   slots"): the copy of the node that owns the slot wins, keys only on the other side are moved to the new owner.
#   A slot this node imports from a master that was failed over meanwhile is re-pointed at the new owner at once.
#   The repair lives in open-slots.sh, sourced below.
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"

MAIN_PID=$1
INTERVAL=${SLOTFORGE_MEET_INTERVAL_S:-5}
GUARD_TIMEOUT=${SLOTFORGE_GUARD_TIMEOUT_S:-60}
SELF=$(self_ip)

alive() { kill -0 "$MAIN_PID" 2>/dev/null; }
self_nodes() { rcli "$SELF" cluster nodes 2>/dev/null; }
self_ping() { [ "$(rcli "$SELF" ping 2>/dev/null)" = PONG ]; }
# The open-slot repair (close_open_slots) and its helpers.
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/open-slots.sh"

i_am_replica() {
  _me=$(myself_line "$(self_nodes)")
  case "$_me" in *' myself,slave '* | *',slave,'*) return 0 ;; esac
  return 1
}

# This node's open-slot markers, from its own line of CLUSTER NODES (`[slot->-id]` migrating, `[slot-<-id]`
# importing), as `slot migrating|importing id` lines. nodes.conf kept them across the restart; a promoted replica has
# none (Redis does not replicate them: redis/redis#6339).
own_markers() {
  myself_line "$(self_nodes)" | tr ' ' '\n' | sed -n -e 's/^\[\([0-9]*\)->-\([0-9a-f]*\)\]$/\1 migrating \2/p' \
    -e 's/^\[\([0-9]*\)-<-\([0-9a-f]*\)\]$/\1 importing \2/p'
}

# Sets on the master at IP each of MARKERS (own_markers lines) it does not carry yet, and logs it.
carry_markers() {
  _cm_have=$(myself_line "$(rcli "$1" cluster nodes 2>/dev/null)")
  printf '%s\n' "$2" | while read -r _cm_slot _cm_kind _cm_id; do
    case "$_cm_kind" in migrating) _cm_mark="[$_cm_slot->-$_cm_id]" ;; *) _cm_mark="[$_cm_slot-<-$_cm_id]" ;; esac
    case "$_cm_have" in *"$_cm_mark"*) continue ;; esac
    log "guard: open slot $_cm_slot carried over to the new master $1: SETSLOT $_cm_kind $_cm_id:" \
      "$(rcli "$1" cluster setslot "$_cm_slot" "$_cm_kind" "$_cm_id" 2>&1)"
  done
}

# CLUSTER FAILOVER FORCE on the replica at IP; prints its reply. With open-slot MARKERS (own_markers), the replica's
# clients are paused for writes (CLIENT PAUSE WRITE, 5 s) from just before the failover until it is master and
# carries them: a new master serving a half-moved slot without them answers for keys already moved as if they never
# existed, so an INCR starts over at 1 (docs/chaos.md, "A master killed twice in a migration"). Reads are not paused:
# a GET of a key already moved answers nil until the markers are set. A replica not master within 4 s gets them from
# run_guard once this node sees itself demoted.
force_takeover() {
  [ -n "$2" ] && rcli "$1" client pause 5000 write >/dev/null 2>&1
  _ft_reply=$(rcli "$1" cluster failover force 2>&1)
  if [ -n "$2" ] && [ "$_ft_reply" = OK ]; then
    _ft_until=$(($(now_ms) + 4000))
    until [ "$(rcli "$1" role 2>/dev/null | head -n 1)" = master ]; do
      [ "$(now_ms)" -lt "$_ft_until" ] || break
      sleep 0.05
    done
    [ "$(rcli "$1" role 2>/dev/null | head -n 1)" = master ] && carry_markers "$1" "$2"
  fi
  [ -n "$2" ] && rcli "$1" client unpause >/dev/null 2>&1
  printf '%s' "$_ft_reply"
}

# The address of this node's master in its own view; empty while it is a master.
my_master_ip() {
  _mm_nodes=$(self_nodes)
  _mm_id=$(myself_line "$_mm_nodes" | cut -d' ' -f4)
  [ "$_mm_id" != - ] || return 0
  printf '%s\n' "$_mm_nodes" | while read -r _mm_line_id _mm_addr _mm_rest; do
    [ "$_mm_line_id" = "$_mm_id" ] && addr_ip "$_mm_addr"
  done
}

run_guard() {
  # Case 2 of the guard (entrypoint.sh's needs_guard) wrote its bound: hand over only to a replica linked within it,
  # and give up after 15 s at most (a working hand-over takes 1-2 s; this node's own data is then kept).
  read -r _within _checked_at <"$RUN_DIR/guard" 2>/dev/null || true
  _guard_for=$GUARD_TIMEOUT
  [ -n "$_within" ] && [ "$_guard_for" -gt 15 ] && _guard_for=15
  # Counted from the first PING answered: loading a large AOF takes minutes (the startup probe allows ten).
  _ping_until=$(($(now) + 600))
  until self_ping || [ "$(now)" -ge "$_ping_until" ]; do sleep 0.1; done
  [ -n "$_within" ] && _within=$((_within + $(now) - _checked_at))
  _guard_until=$(($(now) + _guard_for))
  # Case 2: this node's data is whole but may lack a tail its replica has. entrypoint.sh started it with the
  # application user on and writes refused as NOREPLICAS (min-replicas-to-write above any shard's replicas): clients
  # retry them and, once this node is a replica, meet MOVED; reads are served. The replication user stays off, so no
  # replica syncs from this node meanwhile.
  _markers=$(own_markers)
  while [ "$(now)" -lt "$_guard_until" ] && alive; do
    if i_am_replica; then
      log "guard: a replica took over; this node is a replica now"
      _master_ip=$(my_master_ip)
      [ -n "$_markers" ] && [ -n "$_master_ip" ] && carry_markers "$_master_ip" "$_markers"
      break
    fi
    _nodes=$(self_nodes)
    _myid=$(rcli "$SELF" cluster myid 2>/dev/null)
    _forced=$(replicas_by_offset "$_nodes" "$_myid" "$_within" | while read -r _offset _ip _id; do
      _reply=$(force_takeover "$_ip" "$_markers")
      log "guard: CLUSTER FAILOVER FORCE on replica $_id (replication offset $_offset): $_reply"
      [ "$_reply" = OK ] && echo "$_id" && break
    done)
    # One forced failover at a time: another replica is tried only if this node is not demoted within 5 s.
    if [ -n "$_forced" ]; then wait_for 5 i_am_replica || true; else sleep 0.5; fi
  done
  i_am_replica || log "guard: no replica took over within ${_guard_for}s; serving as master with the data set it has"
  if [ -n "$_within" ]; then
    # The configured values (the ConfigMap's redis.conf; Redis's defaults 0 and 10 when it sets none).
    _mrw=$(conf_value min-replicas-to-write)
    _mrl=$(conf_value min-replicas-max-lag)
    log "guard: writes accepted again (min-replicas-to-write ${_mrw:-0}):" \
      "$(rcli "$SELF" config set min-replicas-to-write "${_mrw:-0}" min-replicas-max-lag "${_mrl:-10}" 2>&1)"
  fi
  while read -r _name _key _guarded _rules; do
    case "$_name" in '' | '#'*) continue ;; esac
    [ "$_guarded" = no ] && rcli "$SELF" acl setuser "$_name" on >/dev/null
  done <"$CONFIG_DIR/acl-users.conf"
  rm -f "$RUN_DIR/guard"
}

FORGET_AFTER=${SLOTFORGE_FORGET_AFTER_S:-60}
FORGET_FILE="$RUN_DIR/forget-candidates"

# Whether the cluster is formed and serving as this node sees it: every slot assigned and cluster_state ok.
cluster_settled() {
  _cs_info=$(rcli "$SELF" cluster info 2>/dev/null)
  [ "$(info_field "$_cs_info" cluster_slots_assigned)" = 16384 ] && [ "$(info_field "$_cs_info" cluster_state)" = ok ]
}

# Forgets node $1 (reason $2) once it has been a candidate on every pass for FORGET_AFTER seconds; the first time it
# is a candidate it is only noted. Candidates of this pass go to $FORGET_FILE.new (see heal_view).
forget_when_sure() {
  _fw_since=$(grep "^$1 " "$FORGET_FILE" 2>/dev/null | cut -d' ' -f2 || true)
  [ -n "$_fw_since" ] || _fw_since=$(now)
  printf '%s %s\n' "$1" "$_fw_since" >>"$FORGET_FILE.new"
  [ $(($(now) - _fw_since)) -ge "$FORGET_AFTER" ] || return 0
  log "forgetting $1: $2, for ${FORGET_AFTER}s, agreed by a majority of the masters"
  rcli "$SELF" cluster forget "$1" >/dev/null
}

# The evidence a forget of the node of line $1 (id $2) needs beyond this node's view: it serves no slot, the cluster
# is formed and ok, and a majority of the live masters agree it is gone. Reads heal_view's _settled and _nodes.
gone_for_sure() {
  [ "$_settled" = yes ] && ! line_has_slots "$1" && majority_agrees_gone "$_nodes" "$2" pfail
}

# One pass of re-MEET and ghost removal over this node's view.
heal_view() {
  _nodes=$1
  : >"$FORGET_FILE.new"
  # Never while forming or down: "unknown to a peer" is normal while MEETs spread, "failing" under overload.
  _settled=no
  cluster_settled && _settled=yes
  # grep hands the loop only the lines that may need healing (usually none): sh's read takes a byte per system call,
  # and the view holds a line per member.
  printf '%s\n' "$_nodes" | grep -e 'fail[,? ]' -e noaddr | while IFS= read -r _line; do
    set -f
    # shellcheck disable=SC2086
    set -- $_line
    set +f
    [ "$#" -ge 8 ] || continue
    _id=$1
    _addr=$2
    # Flags exactly (`nofailover` is a healthy replica's).
    has_flag "$3" myself && continue
    flagged_failing "$3" || has_flag "$3" noaddr || continue
    _host=$(addr_host "$_addr")
    if [ -z "$_host" ]; then
      # Learnt by gossip only (gossip carries no hostname): a leftover that the live members already forgot. Only a
      # forget can follow, never while forming (the greps below cost a 60-member cluster's formation most of its CPU).
      [ "$_settled" = yes ] || continue
      line_has_slots "$_line" && continue
      _peer=$(printf '%s\n' "$_nodes" | grep -v -e myself -e fail -e handshake -e noaddr | grep -m1 'connected' || true)
      [ -n "$_peer" ] || continue
      set -f
      # shellcheck disable=SC2086
      set -- $_peer
      set +f
      if [ "$_settled" = yes ] && majority_agrees_gone "$_nodes" "$_id"; then
        forget_when_sure "$_id" "failing here, learnt by gossip only, gone for the live masters"
      fi
      continue
    fi
    _ip=$(resolve "$_host")
    if [ -z "$_ip" ]; then
      # Its pod is gone (a retired member pruned, whose FORGET this node missed): failing, no slots, no DNS record.
      if gone_for_sure "$_line" "$_id"; then
        forget_when_sure "$_id" "failing here, its pod is gone (no DNS record for $_host)"
      fi
      continue
    fi
    _port=$(addr_port "$_addr")
    # At an unchanged address only a forget can follow: not while forming.
    [ "$_settled" = yes ] || [ "$_ip" != "$(addr_ip "$_addr")" ] || continue
    if printf '%s\n' "$_nodes" | grep -v "$_id" | grep -v 'fail' | grep -q " $_ip:$_port@"; then
      if gone_for_sure "$_line" "$_id"; then
        forget_when_sure "$_id" "a failed former identity of $_host (DNS: now another node at $_ip)"
      fi
    elif [ "$_ip" != "$(addr_ip "$_addr")" ]; then
      # Not a member of a drained shard (its master, or itself, is not a serving master of its shard): scale in
      # resets those on purpose, and meeting one again would keep it in the cluster for good (a ghost once pruned).
      case "$3" in *master*) _owner=$_line ;; *) _owner=$(printf '%s\n' "$_nodes" | grep -m1 "^$4 " || true) ;; esac
      _shard=${_host#"${SLOTFORGE_NAME:-}-shard-"}
      serves_shard "$_owner" "${_shard%%-*}" || continue
      _cport=${_addr%%,*}
      log "meeting $_host again at its new address $_ip (was $(addr_ip "$_addr"))"
      rcli "$SELF" cluster meet "$_ip" "$_port" "${_cport#*@}" >/dev/null
    fi
  done
  mv "$FORGET_FILE.new" "$FORGET_FILE"
}

knows_node() { self_nodes | grep -q "^$1 "; }

# A fresh node (alone) whose shard peer belongs to a formed cluster joins it as a replica of the shard's master, when
# that master owns slots.
rejoin() {
  [ -n "${SLOTFORGE_NAME:-}" ] && [ -n "${SLOTFORGE_SHARD:-}" ] || return 0
  _info=$(rcli "$SELF" cluster info 2>/dev/null)
  [ "$(info_field "$_info" cluster_known_nodes)" = 1 ] || return 0
  _me=$(myself_line "$(self_nodes)")
  line_has_slots "$_me" && return 0
  _r=0
  while [ "$_r" -lt "${SLOTFORGE_SHARD_SIZE:-2}" ]; do
    _peer="$SLOTFORGE_NAME-shard-$SLOTFORGE_SHARD-$_r"
    _r=$((_r + 1))
    [ "$_peer" = "$POD_NAME" ] && continue
    _ip=$(resolve "$(pod_fqdn "$_peer")")
    [ -n "$_ip" ] || continue
    _pinfo=$(rcli "$_ip" cluster info 2>/dev/null)
    [ "$(info_field "$_pinfo" cluster_slots_assigned)" = 16384 ] || continue
    _pnodes=$(rcli "$_ip" cluster nodes 2>/dev/null)
    _pme=$(myself_line "$_pnodes")
    set -f
    # shellcheck disable=SC2086
    set -- $_pme
    set +f
    case "$3" in *master*) _master=$1 ;; *) _master=$4 ;; esac
    # Only into a shard that serves (its master owns slots and is a pod of this shard): a drained shard's members are
    # reset one after the other (scale in), and one that rejoined in between stayed in the cluster for good.
    serves_shard "$(printf '%s\n' "$_pnodes" | grep -m1 "^$_master " || true)" "$SLOTFORGE_SHARD" || continue
    log "rejoining through $_peer; replicating shard master $_master"
    rcli "$SELF" cluster meet "$_ip" "$REDIS_PORT" "$REDIS_BUS_PORT" >/dev/null
    wait_for 30 knows_node "$_master" || true
    _deadline=$(($(now) + 30))
    until [ "$(rcli "$SELF" cluster replicate "$_master" 2>&1)" = OK ]; do
      [ "$(now)" -ge "$_deadline" ] && break
      sleep 1
    done
    return 0
  done
}

# --- Replication target -------------------------------------------------------------------------------------------
# Redis 7.0 re-targets a replica's replication only when its master's address changes through the master's own PING
# (nodeUpdateAddressIfNeeded), not when the replica learns it by gossip (redis/redis#13572, #14984). After a full
# restart (every pod at a new address, names lagging) a replica could start with its master's old address from
# nodes.conf, learn the new one by gossip, and keep connecting to the old one for good ("replica link down"). A
# replica whose link is down and whose replication target is not the address its cluster table has for its master,
# where that master answers with its id, replicates it again (CLUSTER REPLICATE re-targets replication).
retarget_replication() {
  _rt_view=$1
  _me=$(myself_line "$_rt_view")
  case "$_me" in *' myself,slave '* | *',slave,'*) ;; *) return 0 ;; esac
  _info=$(rcli "$SELF" info replication 2>/dev/null) || return 0
  [ "$(info_field "$_info" master_link_status)" = down ] || return 0
  set -f
  # shellcheck disable=SC2086
  set -- $_me
  set +f
  _master=$4
  _mline=$(printf '%s\n' "$_rt_view" | grep -m1 "^$_master " || true)
  [ -n "$_mline" ] || return 0
  set -f
  # shellcheck disable=SC2086
  set -- $_mline
  set +f
  _mip=$(addr_ip "$2")
  _target=$(info_field "$_info" master_host)
  [ -n "$_mip" ] && [ "$_mip" != "$_target" ] || return 0
  [ "$(rcli_within 1 "$_mip" "$(addr_port "$2")" cluster myid 2>/dev/null)" = "$_master" ] || return 0
  log "replication: master $_master is at $_mip, replication still targets $_target: replicating it again"
  rcli "$SELF" cluster replicate "$_master" >/dev/null
}

[ -e "$RUN_DIR/guard" ] && run_guard
while alive; do
  sleep "$INTERVAL"
  alive || break
  _view=$(self_nodes) || continue
  [ -n "$_view" ] || continue
  heal_view "$_view"
  close_open_slots "$_view"
  retarget_replication "$_view"
  rejoin
done
