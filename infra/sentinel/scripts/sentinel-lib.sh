# slotforge shell library of a RedisSentinel, sourced after infra/scripts/lib.sh (rcli, secret, resolve, pod_fqdn,
# self_fqdn, info_field, wait_for). POSIX sh.
# Env: SLOTFORGE_NAME, SLOTFORGE_MASTER_NAME, SLOTFORGE_DATA_PODS, SLOTFORGE_SENTINELS, SENTINEL_PORT.
NAME=${SLOTFORGE_NAME:?}
MASTER_NAME=${SLOTFORGE_MASTER_NAME:?}
DATA_PODS=${SLOTFORGE_DATA_PODS:?}
SENTINELS=${SLOTFORGE_SENTINELS:?}
SENTINEL_PORT=${SENTINEL_PORT:-26379}

# On the data pod's volume: written before its redis-server first starts, so the volume tells "this pod has been a
# member of the set" from "this volume is new" (first_boot).
MEMBER_MARKER="$DATA_DIR/slotforge-member"

data_pod() { printf '%s-redis-%s' "$NAME" "$1"; }
sentinel_pod() { printf '%s-sentinel-%s' "$NAME" "$1"; }

# redis-cli against the sentinel at HOST, with the sentinels' own password; bounded, a dead peer never hangs a script.
scli() {
  _host=$1
  shift
  REDISCLI_AUTH=$(secret sentinel-access) timeout "$CLI_TIMEOUT" redis-cli --no-auth-warning -h "$_host" -p "$SENTINEL_PORT" "$@" \
    2>/dev/null | tr -d '\r'
}

# `host port` of the primary the sentinel at HOST reports; empty when it knows none or does not answer.
sentinel_primary() {
  # shellcheck disable=SC2046
  set -- $(scli "$1" sentinel get-master-addr-by-name "$MASTER_NAME")
  [ "$#" -eq 2 ] && printf '%s %s' "$1" "$2"
}

# The value after the element KEY of a reply printed one element a line (SENTINEL MASTER as redis-cli prints it).
reply_field() { printf '%s\n' "$1" | sed -n "/^$2\$/{n;p;q;}"; }

# Whether this is the first boot of a fresh deployment: this pod's volume never held a member of the set (no
# MEMBER_MARKER) AND every sentinel that answers (at least one) has never seen a replica or a failover of MASTER_NAME
# (num-slaves 0, config-epoch 0). The sentinels learn replicas from the primary's INFO and keep them in their file
# (known-replica), so once the set has run they report them even after restarts. Neither check is enough alone: a
# primary whose volume was lost has no marker, and sentinels that lost their files know no history. A sentinel that
# does not know MASTER_NAME at all counts as history (guarded: the safe side).
first_boot() {
  [ -e "$MEMBER_MARKER" ] && return 1
  _i=0
  _fresh=0
  while [ "$_i" -lt "$SENTINELS" ]; do
    _fqdn=$(pod_fqdn "$(sentinel_pod "$_i")")
    _i=$((_i + 1))
    [ -n "$(resolve "$_fqdn")" ] || continue
    _state=$(scli "$_fqdn" sentinel master "$MASTER_NAME")
    [ -n "$_state" ] || continue
    [ "$(reply_field "$_state" num-slaves)" = 0 ] && [ "$(reply_field "$_state" config-epoch)" = 0 ] || return 1
    _fresh=$((_fresh + 1))
  done
  [ "$_fresh" -gt 0 ]
}

# The primary most sentinels report (`host port`), skipping SKIP (a pod name); fails when none answers.
ask_sentinels() {
  _skip=${1:-}
  _i=0
  _answers=''
  while [ "$_i" -lt "$SENTINELS" ]; do
    _pod=$(sentinel_pod "$_i")
    _i=$((_i + 1))
    [ "$_pod" = "$_skip" ] && continue
    _fqdn=$(pod_fqdn "$_pod")
    [ -n "$(resolve "$_fqdn")" ] || continue
    _a=$(sentinel_primary "$_fqdn")
    [ -n "$_a" ] && _answers="$_answers$_a
"
  done
  [ -n "$_answers" ] || return 1
  printf '%s' "$_answers" | sort | uniq -c | sort -rn | head -n 1 | sed 's/^ *[0-9]* //'
}

# The primary a majority of all sentinels report (`host port`); fails when there is no such majority yet.
majority_primary() {
  _i=0
  _answers=''
  while [ "$_i" -lt "$SENTINELS" ]; do
    _a=$(sentinel_primary "$(pod_fqdn "$(sentinel_pod "$_i")")")
    _i=$((_i + 1))
    [ -n "$_a" ] && _answers="$_answers$_a
"
  done
  _top=$(printf '%s' "$_answers" | sort | uniq -c | sort -rn | head -n 1)
  [ -n "$_top" ] || return 1
  # shellcheck disable=SC2086
  set -- $_top
  [ $(($1 * 2)) -gt "$SENTINELS" ] || return 1
  printf '%s %s' "$2" "$3"
}

# Role of the Redis at HOST:PORT (master, slave, or empty when it does not answer), as the admin user.
role_of() {
  REDISCLI_AUTH=$(secret admin) timeout "$CLI_TIMEOUT" redis-cli --no-auth-warning -h "$1" -p "$2" role 2>/dev/null |
    head -n 1 | tr -d '\r'
}

# The first other data pod (not SKIP) whose INFO replication, as the admin user, passes TEST (called as
# `TEST info`): prints its DNS name; fails when none does.
first_data_pod() {
  _i=0
  while [ "$_i" -lt "$DATA_PODS" ]; do
    _pod=$(data_pod "$_i")
    _i=$((_i + 1))
    [ "$_pod" = "$1" ] && continue
    _fqdn=$(pod_fqdn "$_pod")
    [ -n "$(resolve "$_fqdn")" ] || continue
    _info=$(REDISCLI_AUTH=$(secret admin) timeout "$CLI_TIMEOUT" redis-cli --no-auth-warning -h "$_fqdn" -p "$REDIS_PORT" \
      info replication 2>/dev/null | tr -d '\r')
    if "$2" "$_info"; then
      printf '%s' "$_fqdn"
      return 0
    fi
  done
  return 1
}

# A master with at least one connected replica.
is_live_primary() { [ "$(info_field "$1" role)" = master ] && [ "$(info_field "$1" connected_slaves)" -ge 1 ] 2>/dev/null; }

# A data pod (other than SKIP) that is a master with at least one connected replica: `host port`; fails when none.
live_primary() {
  _host=$(first_data_pod "${1:-}" is_live_primary) || return 1
  printf '%s %s' "$_host" "$REDIS_PORT"
}

# A replica of this pod that was linked to it until it stopped: its link is up, or has been down for at most
# SLOTFORGE_LINKED_WITHIN_S (2 x down-after + 5 s: a primary down for longer is failed over; a replica that
# restarted since and never reached this pod reports -1), and it may be promoted (replica priority not 0). It holds
# the replication stream up to this pod's stop.
is_linked_replica() {
  case "$(info_field "$1" master_host)" in "$(self_fqdn)" | "$(self_ip)") ;; *) return 1 ;; esac
  [ "$(info_field "$1" slave_priority)" != 0 ] && linked_info "$1" "${SLOTFORGE_LINKED_WITHIN_S:-15}"
}

# Another data pod that is_linked_replica: its DNS name; fails when none.
linked_replica() { first_data_pod "$POD_NAME" is_linked_replica; }

# Whether a majority of the sentinels name a primary other than this pod, and that pod answers ROLE master: clients
# asking any sentinel of that majority find the successor.
handed_over() {
  # shellcheck disable=SC2046
  set -- $(majority_primary)
  [ "$#" -eq 2 ] && ! is_self "$1" && [ "$(role_of "$1" "$2")" = master ]
}

# Whether HOST (a sentinel's answer) is this pod.
is_self() { [ "$1" = "$(self_fqdn)" ] || [ "$1" = "$(self_ip)" ]; }

# Moves the primary away from this pod before DEADLINE (epoch seconds): SENTINEL FAILOVER through each sentinel in
# turn (INPROG, NOGOODSLAVE right after a restart, or no answer move on to the next), then polls until handed_over.
# Works whether this pod's redis-server runs (preStop) or not yet (the entrypoint's hand-over guard).
# No FAILOVER once a majority names another pod, and only through a sentinel that still names this one: the
# sentinels may have failed over on their own meanwhile (down-after passed while a paused sentinel cost this script
# CLI_TIMEOUT per question, or a resumed one still holds its old view), and a FAILOVER then would move the primary
# away from the successor, a second failover for nothing.
hand_over() {
  _ho_deadline=$1
  _n=0
  while [ "$(now)" -lt "$_ho_deadline" ]; do
    # shellcheck disable=SC2046
    set -- $(majority_primary)
    if [ "$#" -eq 2 ] && ! is_self "$1"; then
      _reply="not needed: a majority names $1"
    else
      _sentinel=$(pod_fqdn "$(sentinel_pod $((_n % SENTINELS)))")
      _n=$((_n + 1))
      # shellcheck disable=SC2046
      set -- $(sentinel_primary "$_sentinel")
      if [ "$#" -eq 2 ] && is_self "$1"; then
        _reply=$(scli "$_sentinel" sentinel failover "$MASTER_NAME")
      else
        _reply="not sent: it names ${1:-no primary}"
      fi
      log "SENTINEL FAILOVER $MASTER_NAME via $_sentinel: ${_reply:-no answer}"
    fi
    case "$_reply" in OK | INPROG* | 'not needed'*) ;; *)
      sleep 1
      continue
      ;;
    esac
    # A failover finishes within the failover-timeout; the other sentinels learn it from hello messages (every 2 s).
    _until=$(($(now) + ${SLOTFORGE_FAILOVER_WAIT_S:-15}))
    while [ "$(now)" -lt "$_until" ] && [ "$(now)" -lt "$_ho_deadline" ]; do
      handed_over && return 0
      sleep 0.2 2>/dev/null || sleep 1
    done
  done
  return 1
}
