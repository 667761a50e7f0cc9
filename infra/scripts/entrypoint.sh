#!/bin/sh
# slotforge entrypoint of a RedisCluster member.
# 1. Repairs nodes.conf after address changes: every node line gets the address its hostname resolves to now (unless
#    the peer still answers at the address nodes.conf has: DNS may lag), and the `myself` line gets POD_IP (a FULL restart gives every pod a new IP; the cluster bus only knows IPs).
# 2. Decides whether this node is a restarted master that must not serve (the guard): a master owning slots, with
#    replicas, whose data set did not survive the restart or whose replica holds what its AOF may lack, starts with
#    the application and replication users disabled, so its replicas keep their data until one of them is promoted
#    (see maintain.sh).
# 3. Renders the final redis.conf (base config + paths + announce addresses + ACL users with password hashes) into
#    the run dir, starts the maintenance loop in the background and execs redis-server.
set -eu
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"

NODES_CONF="$DATA_DIR/nodes.conf"
PERSISTENCE=${SLOTFORGE_PERSISTENCE:-aof}

# rewrite_nodes_conf (the nodes.conf repair), data_survived, hash_of and render_users are in lib.sh.

# How long ago a replica's link may have gone down for it to count as linked until this node's stop: 2 node timeouts
# + 5 s. A master down for longer than about one node timeout is failed over (then no replica names it any more), so
# a link that went down earlier did not end with this stop: that replica lacks what came after.
LINKED_WITHIN_S=$(conf_value cluster-node-timeout)
LINKED_WITHIN_S=$((${LINKED_WITHIN_S:-15000} * 2 / 1000 + 5))

# Whether one of this node's replicas (per nodes.conf: IDS; this node is MYID) was linked to it until it stopped
# (replica_linked_to in lib.sh).
linked_replica_online() {
  while read -r _id _addr _f _master _rest; do
    case " $1 " in *" $_id "*) ;; *) continue ;; esac
    replica_linked_to "$(addr_ip "$_addr")" "$2" "$LINKED_WITHIN_S" && return 0
  done <"$NODES_CONF"
  return 1
}

# Guard: I was a master owning slots with replicas, so I stopped without my preStop hand-over (a crash, an OOM kill, a
# failed liveness probe) and restarted before a failover. A restarted master has a new replication id, so its
# replicas fully resync from it and drop whatever it lacks. Guarded (sets GUARD_REASON) when
# 1. my data did not survive (the empty master), or
# 2. a replica linked to me until I stopped is online, and appendfsync is not `always`. With `everysec` Redis writes
#    the AOF before it replies, except while a background fsync of the previous second is still running (a slow
#    disk): then it postpones the write by up to 2 s and keeps replying, so a kill loses what it acknowledged
#    meanwhile, including writes a WAIT confirmed on the replica. Handing over keeps the replica's copy instead: it
#    loses only what the replica had not received, Redis's documented window of asynchronous replication, which a
#    WAIT closes. With `always` the AOF holds every acknowledged write, and restarting in place loses nothing.
needs_guard() {
  _me=$(myself_line "$(cat "$NODES_CONF")")
  [ -n "$_me" ] || return 1
  set -f
  # shellcheck disable=SC2086
  set -- $_me
  set +f
  case ",$3," in *,master,*) ;; *) return 1 ;; esac
  line_has_slots "$_me" || return 1
  _myid=$1
  _replicas=''
  while read -r _id _a _f _master _rest; do
    [ "$_master" = "$_myid" ] && _replicas="$_replicas $_id"
  done <"$NODES_CONF"
  [ -n "$_replicas" ] || return 1
  if ! data_survived; then
    GUARD_REASON="its data set did not survive ($PERSISTENCE)"
  elif [ "$(conf_value appendfsync)" != always ] && linked_replica_online "$_replicas" "$_myid"; then
    GUARD_REASON="it stopped without handing over and a replica linked to it until then is online"
    GUARD_LINKED_WITHIN=$LINKED_WITHIN_S
  else
    return 1
  fi
}

render_config() {
  cat "$CONFIG_DIR/redis.conf"
  printf '\n# --- rendered by entrypoint.sh ---\n'
  printf 'dir %s\n' "$DATA_DIR"
  if [ -n "$TLS_DIR" ]; then
    # TLS only: the client port, the bus (tls-cluster) and replication (tls-replication) all speak TLS.
    printf 'port 0\ntls-port %s\n' "$REDIS_PORT"
    printf 'tls-cert-file %s\ntls-key-file %s\ntls-ca-cert-file %s\n' \
      "$TLS_DIR/tls.crt" "$TLS_DIR/tls.key" "$TLS_DIR/ca.crt"
    printf 'tls-cluster yes\ntls-replication yes\ntls-auth-clients optional\n'
  else
    printf 'port %s\n' "$REDIS_PORT"
  fi
  printf 'cluster-port %s\n' "$REDIS_BUS_PORT"
  [ -n "${REDIS_BIND:-}" ] && printf 'bind %s\n' "$REDIS_BIND"
  printf 'cluster-announce-ip %s\n' "$(self_ip)"
  printf 'cluster-announce-hostname %s\n' "$(self_fqdn)"
  printf 'masteruser replicator\n'
  printf 'masterauth %s\n' "$(secret replication)"
  if [ "$1" = linked ]; then
    # The guard's case 2: writes refused as NOREPLICAS (a write that did not run: clients retry it, and meet MOVED
    # once this node is a replica) until maintain.sh's run_guard restores the configured values; reads are served.
    printf 'min-replicas-to-write %s\nmin-replicas-max-lag 10\n' "$GUARD_MIN_REPLICAS"
    render_users replication
  else
    render_users "$1"
  fi
}

mkdir -p "$RUN_DIR" "$DATA_DIR"
rm -f "$RUN_DIR/guard"
guard=no
GUARD_LINKED_WITHIN=''
# More replicas than any shard has: every write is refused while the guard's case 2 holds.
GUARD_MIN_REPLICAS=1000000
if [ -s "$NODES_CONF" ]; then
  rewrite_nodes_conf "$NODES_CONF"
  if needs_guard; then
    guard=yes
    [ -n "$GUARD_LINKED_WITHIN" ] && guard=linked
    log "guard: this node was a master with replicas and $GUARD_REASON;" \
      "serving no clients and no replicas until a replica takes over"
    # Case 2 names its bound and when it was checked: maintain.sh then hands over only to a replica linked within it
    # (plus the time since, loading the AOF included).
    if [ -n "$GUARD_LINKED_WITHIN" ]; then
      printf '%s %s\n' "$GUARD_LINKED_WITHIN" "$(now)" >"$RUN_DIR/guard"
    else
      : >"$RUN_DIR/guard"
    fi
  fi
fi
umask 077
render_config "$guard" >"$RUN_DIR/redis.conf.tmp"
mv "$RUN_DIR/redis.conf.tmp" "$RUN_DIR/redis.conf"

# TLS certificate reload. Redis reads tls-cert-file, tls-key-file and tls-ca-cert-file only at start and on CONFIG SET
# (which reloads them even when the path is unchanged, checked on 7.0.15); cert-manager and the kubelet replace the
# Secret's files in place on rotation. So: every SLOTFORGE_TLS_RELOAD_INTERVAL_S seconds compare the files' checksum,
# and on a change CONFIG SET the same paths; connections made after it see the new certificate, none is dropped.
# Stops when redis-server ($1) is gone.
watch_tls() {
  _pid=$1
  _interval=${SLOTFORGE_TLS_RELOAD_INTERVAL_S:-10}
  _sum() { cat "$TLS_DIR/tls.crt" "$TLS_DIR/tls.key" "$TLS_DIR/ca.crt" 2>/dev/null | sha256sum | cut -d' ' -f1; }
  _loaded=$(_sum)
  while kill -0 "$_pid" 2>/dev/null; do
    sleep "$_interval"
    _now=$(_sum)
    [ "$_now" = "$_loaded" ] && continue
    _reply=$(rcli "$(self_ip)" config set tls-cert-file "$TLS_DIR/tls.crt" tls-key-file "$TLS_DIR/tls.key" \
      tls-ca-cert-file "$TLS_DIR/ca.crt" 2>&1)
    if [ "$_reply" = OK ]; then
      log "tls: the certificate files changed; reloaded them (CONFIG SET), no restart"
      _loaded=$_now
    else
      log "tls: the certificate files changed but CONFIG SET failed (retrying in ${_interval}s): $_reply"
    fi
  done
}

# The loops stop when this pid (redis-server after exec) is gone.
sh "$CONFIG_DIR/maintain.sh" "$$" &
[ "${SLOTFORGE_FAILOVER_ASSIST:-1}" = 1 ] && sh "$CONFIG_DIR/failover-assist.sh" "$$" &
[ -n "$TLS_DIR" ] && watch_tls "$$" &
exec redis-server "$RUN_DIR/redis.conf"
