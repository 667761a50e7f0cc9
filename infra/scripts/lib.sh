# slotforge shell library: sourced by every script of the ConfigMap. POSIX sh; tools by name from PATH (redis-cli,
# getent, coreutils). Every path comes from the environment the manifest sets, so the local runtime can remap volumes.
CONFIG_DIR=${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}
AUTH_DIR=${SLOTFORGE_AUTH_DIR:-/etc/slotforge/auth}
DATA_DIR=${SLOTFORGE_DATA_DIR:-/data}
# shellcheck disable=SC2034 # used by the scripts that source this file
RUN_DIR=${SLOTFORGE_RUN_DIR:-/run/slotforge}
REDIS_PORT=${REDIS_PORT:-6379}
REDIS_BUS_PORT=${REDIS_BUS_PORT:-$((REDIS_PORT + 10000))}
CLUSTER_DOMAIN=${SLOTFORGE_CLUSTER_DOMAIN:-cluster.local}
# TLS (optional): the mounted Secret has tls.crt, tls.key and ca.crt (the cert-manager layout). Paths without spaces.
TLS_DIR=${SLOTFORGE_TLS_DIR:-}
TLS_ARGS=''
[ -n "$TLS_DIR" ] && TLS_ARGS="--tls --cacert $TLS_DIR/ca.crt --cert $TLS_DIR/tls.crt --key $TLS_DIR/tls.key"

log() { printf '%s slotforge[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${0##*/}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

now() { date +%s; }
now_ms() { date +%s%3N; }

# One deadline for a whole script that makes several bounded calls (a probe: PING, INFO, CLUSTER NODES). Each call
# gets what is left instead of CLI_TIMEOUT of its own: three slow answers used to add up to 9 s against the probe's
# timeoutSeconds of 5 s, and the kubelet cut the probe off without its message.
deadline_set() { _DEADLINE_MS=$(($(now_ms) + $1 * 1000)); }
# Seconds left until the deadline as `S.mmm` (coreutils `timeout` takes fractions); prints 0 and returns 1 once it has
# passed (`timeout 0` would mean no bound at all).
deadline_left() {
  _dl_left=$((${_DEADLINE_MS:?deadline_set first} - $(now_ms)))
  if [ "$_dl_left" -le 0 ]; then
    printf 0
    return 1
  fi
  printf '%d.%03d' $((_dl_left / 1000)) $((_dl_left % 1000))
}

# redis-cli as the least-privileged `probe` user against this pod, within what is left of the deadline (deadline_set
# CLI_TIMEOUT first); once it has passed, prints why instead of calling, so the probe still ends with a message.
probe_cli() {
  _left=$(deadline_left) || {
    echo "probe deadline of ${CLI_TIMEOUT}s passed before: $*"
    return 0
  }
  # shellcheck disable=SC2086
  REDISCLI_AUTH=$(secret probe) timeout "$_left" redis-cli $TLS_ARGS --no-auth-warning --user probe -h "$(self_ip)" \
    -p "$REDIS_PORT" "$@" 2>&1 | tr -d '\r'
}

# A password from the mounted Secret (one file per key); never echoed to a log.
secret() {
  [ -r "$AUTH_DIR/$1" ] || die "secret key '$1' missing in $AUTH_DIR"
  cat "$AUTH_DIR/$1"
}

# Deadline of one redis-cli call in seconds (connect, AUTH and the reply). A peer that is gone (its pod deleted, its
# address no longer routed) or frozen never answers, and redis-cli 7.0 has no connect or read timeout (`-t` arrives
# in 7.2), so coreutils `timeout` bounds every call: without it a master's preStop waited for its deleted replica
# until the grace period killed it. A call cut off prints nothing, like a peer that is down. Set by the construct's
# scriptTimeouts.redisCliSeconds.
CLI_TIMEOUT=${SLOTFORGE_CLI_TIMEOUT_S:-3}

# redis-cli as the admin user against HOST:PORT within SECONDS; the password travels in the environment, not argv.
rcli_within() {
  # Names of their own: sh has no local variables, and callers keep _host/_port of their own across a call.
  _rw_secs=$1
  _rw_host=$2
  _rw_port=$3
  shift 3
  # shellcheck disable=SC2086
  REDISCLI_AUTH=$(secret admin) timeout "$_rw_secs" redis-cli $TLS_ARGS --no-auth-warning -h "$_rw_host" \
    -p "$_rw_port" "$@" | tr -d '\r'
}
# redis-cli as the admin (default) user against HOST (this pod's port), bounded by CLI_TIMEOUT.
rcli() {
  _rc_host=$1
  shift
  rcli_within "$CLI_TIMEOUT" "$_rc_host" "$REDIS_PORT" "$@"
}
rcli_at() {
  _rc_host=$1
  _rc_port=$2
  shift 2
  rcli_within "$CLI_TIMEOUT" "$_rc_host" "$_rc_port" "$@"
}

# Whether the Redis at $1 (ip:port, cluster bus port $2) answers now, asked on both ports at once within $3 seconds:
# a PING as the `probe` user (any reply of the server counts, PONG or an error such as NOAUTH, LOADING or a failed
# AUTH: its event loop ran; redis-cli's own errors, such as a refused connection or TLS, do not) and a TCP connection
# to the bus port (bash's /dev/tcp; the kernel accepts it even while the process is frozen, so it sees only a cut
# network; a bus port of - is not asked). Prints `<ms the PING took, or -> <bus: accepted, unanswered or unasked>`;
# succeeds only when both answered.
# Whether TCP port $2 of $1 (ip) accepts a connection within $3 seconds: bash's /dev/tcp (dash has none), then closed.
bus_accepts() { timeout "$3" bash -c 'exec 3<>"/dev/tcp/$1/$2"' bus "$1" "$2" 2>/dev/null; }
answers_now() {
  _an_start=$(now_ms)
  _an_bus=
  [ "$2" = - ] || { bus_accepts "${1%:*}" "$2" "$3" & _an_bus=$!; }
  # shellcheck disable=SC2086
  _an_reply=$(REDISCLI_AUTH=$(secret probe) timeout "$3" redis-cli $TLS_ARGS --no-auth-warning --user probe \
    -h "${1%:*}" -p "${1##*:}" ping 2>&1 | grep -e '^PONG$' -e '^[A-Z][A-Z]* ')
  _an_ping=-
  [ -z "$_an_reply" ] || _an_ping=$(($(now_ms) - _an_start))
  if [ -z "$_an_bus" ]; then _an_bus=unasked; elif wait "$_an_bus"; then _an_bus=accepted; else _an_bus=unanswered; fi
  printf '%s %s' "$_an_ping" "$_an_bus"
  [ "$_an_ping" != - ] && [ "$_an_bus" = accepted ]
}

# The topology of a cluster as the topology Job's env gives it (bootstrap.sh, scale.sh): SHARDS, SIZE (1 + replicas
# per shard) and RETIRING (shards being drained for a scale in); a missing name, shard count or size stops the script.
read_topology() {
  : "${SLOTFORGE_NAME:?}"
  # shellcheck disable=SC2034 # used by the scripts that call this function
  SHARDS=${SLOTFORGE_SHARDS:?} SIZE=${SLOTFORGE_SHARD_SIZE:?} RETIRING=${SLOTFORGE_RETIRING_SHARDS:-0}
}
# Pod name of member $2 of shard $1 (`<name>-shard-<s>-<m>`), and the address that name resolves to now (empty if none).
member() { printf '%s-shard-%s-%s' "${SLOTFORGE_NAME:?}" "$1" "$2"; }
member_ip() { resolve "$(pod_fqdn "$(member "$1" "$2")")"; }

# The address this pod's redis-server listens on (POD_IP from the downward API).
self_ip() { printf '%s' "${POD_IP:?POD_IP must be set (fieldRef status.podIP)}"; }

# Stable DNS name of a pod behind the headless Service: pod.headless.namespace.svc.domain.
pod_fqdn() { printf '%s.%s.%s.svc.%s' "$1" "${SLOTFORGE_HEADLESS:?}" "${POD_NAMESPACE:?}" "$CLUSTER_DOMAIN"; }
self_fqdn() { pod_fqdn "${POD_NAME:?POD_NAME must be set (fieldRef metadata.name)}"; }

# First address of NAME (getent reads /etc/hosts then DNS); empty when it does not resolve yet.
resolve() {
  # shellcheck disable=SC2046
  set -- $(getent hosts "$1" 2>/dev/null) ""
  printf '%s' "$1"
}

# A newline, for the patterns below.
NL='
'

# Value of FIELD in an INFO-style text (CLUSTER INFO, INFO replication). Parameter expansion, not `printf | while
# read`: sh's read takes a byte per system call. These texts are short (under 2 KB): dash's `${v#*pattern}` takes time
# quadratic in the text, so never use it on a CLUSTER NODES view.
info_field() {
  case "$NL$1" in *"$NL$2:"*) ;; *) return 0 ;; esac
  _if_v=$NL$1
  _if_v=${_if_v#*"$NL$2:"}
  printf '%s' "${_if_v%%"$NL"*}"
}

# The `myself` line of a CLUSTER NODES text (Redis lists the myself flag first). grep, not `printf | while read` (sh's
# read takes a byte per system call) nor parameter expansion (dash matches `${v#*pattern}` in time quadratic in the
# text: a 60-member view cost its pods most of 2 cores).
myself_line() {
  printf '%s\n' "$1" | grep -m1 -e ' myself,' -e ' myself ' || true
}

# Whether CLUSTER NODES flags $1 are those of a master Redis believes reachable (not fail, fail?, handshake, noaddr).
healthy_master() {
  case ",$1," in
  *,fail,* | *,fail\?,* | *,handshake,* | *,noaddr,*) return 1 ;;
  *,master,*) return 0 ;;
  *) return 1 ;;
  esac
}

# Whether a CLUSTER NODES line lists slots (fields after the 8th).
line_has_slots() {
  set -f
  # shellcheck disable=SC2086
  set -- $1
  set +f
  [ "$#" -gt 8 ]
}

# Parts of a node address field. CLUSTER NODES prints `ip:port@cport[,hostname]`; nodes.conf of Redis 7.2+ writes
# `ip:port@cport,[hostname],tls-port=N,shard-id=ID[,...]`: the hostname slot is always there (empty when unset) and aux
# fields `key=value` follow. A hostname never holds `=` or `,` (Redis accepts letters, digits, '-' and '.').
# ip and port of an address field.
addr_ip() {
  _a=${1%%,*}
  _a=${_a%@*}
  printf '%s' "${_a%:*}"
}
addr_port() {
  _a=${1%%,*}
  _a=${_a%@*}
  printf '%s' "${_a##*:}"
}

# The hostname of an address field; empty when it has none.
addr_host() {
  case "$1" in *,*) ;; *) return 0 ;; esac
  _ah=${1#*,}
  _ah=${_ah%%,*}
  case "$_ah" in *=*) return 0 ;; esac
  printf '%s' "$_ah"
}
# Everything after ip:port@cport (`,hostname,tls-port=...,shard-id=...` or empty), kept verbatim when an address is
# rewritten, so a repair changes only what moved (an older parser kept the hostname alone and lost shard-id).
addr_suffix() {
  case "$1" in *,*) printf ',%s' "${1#*,}" ;; esac
}

# The value of directive NAME in the ConfigMap's redis.conf (its last line); empty when it sets none.
conf_value() { sed -n "s/^$1 //p" "$CONFIG_DIR/redis.conf" | tail -n 1; }

# The node at IP's own `myself` line of CLUSTER NODES; empty when it does not answer within 1 s. Every member listens
# on REDIS_PORT (nodes.conf's port is 0 with TLS).
myself_at() { myself_line "$(rcli_within 1 "$1" "$REDIS_PORT" cluster nodes 2>/dev/null)"; }

# Whether flags FLAGS (comma-separated, CLUSTER NODES' third field) hold exactly FLAG.
has_flag() { case ",$1," in *",$2,"*) return 0 ;; *) return 1 ;; esac; }
# Whether flags FLAGS say failing (`fail` or `fail?`; not `nofailover`, a healthy replica's).
flagged_failing() { case ",$1," in *,fail,* | *,fail\?,*) return 0 ;; *) return 1 ;; esac; }

# Whether a majority of the live masters of view $1 (this node included when a master) flag node $2 `fail` or noaddr,
# or do not know it at all; with $3 = pfail, `fail?` counts too. A master that does not answer counts against (an
# overloaded cluster must not forget anybody for lack of answers).
# pfail is for callers that checked DNS first (the node's pod has no record, or its address is another node's now): a
# node whose pod went while most masters had it noaddr (a reset member whose FORGET was missed) is never marked `fail`
# (noaddr nodes send and get no failure reports), so a master that had it `fail?` keeps it so for good, and without
# it no majority formed (healing test, CI rehearsal of 2026-12-05: four members listed the retired id for 60 s).
majority_agrees_gone() {
  _mg_id=$2
  _mg_pfail=${3:-}
  _mg_agree=0
  _mg_total=0
  for _mg_addr in $(printf '%s\n' "$1" | while read -r _mg_i _mg_a _mg_f _mg_rest; do
    healthy_master "$_mg_f" || continue
    printf '%s:%s\n' "$(addr_ip "$_mg_a")" "$(addr_port "$_mg_a")"
  done); do
    _mg_total=$((_mg_total + 1))
    _mg_out=$(rcli_at "${_mg_addr%:*}" "${_mg_addr##*:}" cluster nodes 2>/dev/null || true)
    case "$_mg_out" in *myself*) ;; *) continue ;; esac
    _mg_flags=$(printf '%s\n' "$_mg_out" | grep "^$_mg_id " | cut -d' ' -f3 || true)
    if [ -z "$_mg_flags" ] || has_flag "$_mg_flags" fail || has_flag "$_mg_flags" noaddr ||
      { [ "$_mg_pfail" = pfail ] && has_flag "$_mg_flags" 'fail?'; }; then
      _mg_agree=$((_mg_agree + 1))
    fi
  done
  [ "$_mg_total" -gt 0 ] && [ $((_mg_agree * 2)) -gt "$_mg_total" ]
}

# Whether INFO replication INFO is a replica's whose link to its master is up, or went down at most WITHIN seconds ago
# (a replica that has not reached its master since it started reports -1).
linked_info() {
  [ "$(info_field "$1" role)" = slave ] || return 1
  [ "$(info_field "$1" master_link_status)" = up ] && return 0
  _li_down=$(info_field "$1" master_link_down_since_seconds)
  [ "$_li_down" -ge 0 ] 2>/dev/null && [ "$_li_down" -le "$2" ]
}

# INFO replication of the node at IP, when its own view names MYID as its master and does not flag it nofailover
# (cluster-replica-no-failover); fails otherwise.
replica_info_of() {
  _ri_me=$(myself_at "$1")
  set -f
  # shellcheck disable=SC2086
  set -- "$1" "$2" $_ri_me
  set +f
  [ "${6:-}" = "$2" ] && ! has_flag "${5:-}" nofailover || return 1
  rcli_within 1 "$1" "$REDIS_PORT" info replication 2>/dev/null
}

# Whether the node at IP is a replica of MYID that was linked to it until it stopped and may take over
# (replica_info_of), its link up or down at most WITHIN seconds (linked_info; one down for longer was not linked at
# the stop). It then holds the replication stream up to the stop.
replica_linked_to() {
  _rl_info=$(replica_info_of "$1" "$2") && linked_info "$_rl_info" "$3"
}

# The replicas of master MYID in NODES (CLUSTER NODES) a guarded master may hand over to, the one that processed the
# most of the replication stream first (slave_repl_offset): `offset ip id` lines. Not flagged failing or nofailover
# here, replica_info_of MYID, and (WITHIN set: the guard's case 2) linked within WITHIN seconds. With two replicas,
# the laggard is tried last.
replicas_by_offset() {
  printf '%s\n' "$1" | while read -r _rb_id _rb_addr _rb_flags _rb_master _rb_rest; do
    [ "$_rb_master" = "$2" ] || continue
    flagged_failing "$_rb_flags" || has_flag "$_rb_flags" nofailover && continue
    _rb_ip=$(addr_ip "$_rb_addr")
    _rb_info=$(replica_info_of "$_rb_ip" "$2") || continue
    [ -z "${3:-}" ] || linked_info "$_rb_info" "$3" || continue
    _rb_offset=$(info_field "$_rb_info" slave_repl_offset)
    printf '%s %s %s\n' "${_rb_offset:-0}" "$_rb_ip" "$_rb_id"
  done | sort -rn
}

# Rewrites, before redis-server reads it, the address of every node line of nodes.conf (`id ip:port@cport,hostname[,aux]
# flags ...`): the `myself` line gets POD_IP, any other line with a hostname the address it resolves to now. Only
# ip:port@cport changes; the hostname and the 7.2+ aux fields (tls-port, shard-id) stay as Redis wrote them.
rewrite_nodes_conf() {
  _file=$1
  _tmp="$_file.slotforge-tmp"
  : >"$_tmp"
  while IFS= read -r _line || [ -n "$_line" ]; do
    case "$_line" in vars* | '')
      printf '%s\n' "$_line" >>"$_tmp"
      continue
      ;;
    esac
    set -f
    # shellcheck disable=SC2086
    set -- $_line
    set +f
    _id=$1
    _addr=$2
    _flags=$3
    shift 3
    _host=$(addr_host "$_addr")
    _old=$(addr_ip "$_addr")
    _port=$(addr_port "$_addr")
    _cport=${_addr%%,*}
    _cport=${_cport#*@}
    _new=''
    case ",$_flags," in
    *,myself,*)
      _new=$(self_ip)
      # With TLS, 7.2+ writes port 0 here and the port as the tls-port aux field (kept by addr_suffix).
      [ "$_port" = 0 ] || _port=$REDIS_PORT
      _cport=$REDIS_BUS_PORT
      ;;
    *)
      # Cluster DNS lags (CoreDNS serves a pod's old address for its TTL): an address this node learnt from the
      # cluster, where the peer still answers with its id, wins over the name. Without this a stale answer overwrote
      # a peer's live new address (seen with the local runtime's --dns-delay: nodes.conf flipped .12 back to .7 for
      # a pod that had moved).
      if [ -n "$_old" ] && [ "$(rcli_within 1 "$_old" "$_port" cluster myid 2>/dev/null)" = "$_id" ]; then
        _new=$_old
      elif [ -n "$_host" ]; then
        _new=$(resolve "$_host")
      fi
      ;;
    esac
    if [ -n "$_new" ] && [ "$_new" != "$_old" ]; then
      log "nodes.conf: node $_id ($_host) moved from '$_old' to '$_new'"
      _addr="$_new:$_port@$_cport$(addr_suffix "$_addr")"
    fi
    printf '%s %s %s %s\n' "$_id" "$_addr" "$_flags" "$*" >>"$_tmp"
  done <"$_file"
  mv "$_tmp" "$_file"
}

# True when the CLUSTER NODES line $1 is a master that owns slots and whose hostname is a pod of shard $2: a shard's
# own serving master. A shard drained for scale in has none (Redis turns a master that lost its last slot into a
# replica of the master that took it).
serves_shard() {
  line_has_slots "$1" || return 1
  _ss_shard=$2
  set -f
  # shellcheck disable=SC2086
  set -- $1
  set +f
  _ss_host=$(addr_host "$2")
  _ss_rest=${_ss_host#"${SLOTFORGE_NAME:-}-shard-"}
  [ "$_ss_rest" != "$_ss_host" ] && [ "${_ss_rest%%-*}" = "$_ss_shard" ]
}

# Polls COMMAND until it succeeds or SECONDS pass; returns 1 on timeout.
wait_for() {
  _deadline=$(($(now) + $1))
  shift
  while ! "$@"; do
    [ "$(now)" -ge "$_deadline" ] && return 1
    sleep 1
  done
}

# Whether the data set this node had survived the restart, given the persistence mode it was configured with
# (SLOTFORGE_PERSISTENCE).
data_survived() {
  case "${SLOTFORGE_PERSISTENCE:-aof}" in
  none) return 1 ;;
  # RDB alone is older than what the replica holds: prefer the replica.
  rdb) return 1 ;;
  aof | aof+rdb)
    for _m in "$DATA_DIR"/appendonlydir/*.manifest; do
      [ -s "$_m" ] && return 0
    done
    return 1
    ;;
  *) die "SLOTFORGE_PERSISTENCE must be none, rdb, aof or aof+rdb (got '${SLOTFORGE_PERSISTENCE:-}')" ;;
  esac
}

hash_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# ACL users from acl-users.conf: `name secret-key on-when-guarded(yes|no) rules...`, rendered as `user` lines; with
# $1 = yes (guarded) the users not enabled while guarded are off; with $1 = replication only `replicator` is.
# Passwords enter as SHA-256 hashes, so the plain text exists only in the Secret volume.
render_users() {
  while read -r _name _key _guarded _rules; do
    case "$_name" in '' | '#'*) continue ;; esac
    _state=on
    [ "$1" = yes ] && [ "$_guarded" = no ] && _state=off
    [ "$1" = replication ] && [ "$_name" = replicator ] && _state=off
    printf 'user %s reset %s #%s %s\n' "$_name" "$_state" "$(hash_of "$(secret "$_key")")" "$_rules"
  done <"$CONFIG_DIR/acl-users.conf"
}
