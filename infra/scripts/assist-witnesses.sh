#!/bin/sh
# slotforge failover assist's witnesses, sourced by failover-assist.sh (which sets what they read: AUTH, TMP,
# NODE_TIMEOUT_MS, CLIENT_BOUND_MS, BUS_BOUND_MS, the probe's files and PROBE_PID; acli): the masters' quorum
# (condition 2), this replica's probe (condition 1) and the ranking of the replicas that could be elected. See the top
# of failover-assist.sh for the conditions.
# shellcheck disable=SC2154,SC2034 # read from and set for failover-assist.sh, which sources this file

# Whether the masters of view $2 serving slots confirm master $1 (id) unreachable, as many as Redis's quorum, asked
# all at once (condition 2): each flags it failing, or has a PING to it unanswered and no PONG from it (its own, or
# one another node reported by gossip) for the node timeout, by its own clock (TIME, then its view). Sets QUORUM (how
# many confirm, of how many) and FLAGGED (how many nodes asked flag it failing). With $3 = yes, up to 8 replicas are asked too, for FLAGGED only: Redis counts no replica in its quorum, but a replica's PING is
# as good a witness of the node timeout.
quorum_confirms() {
  _qf_size=0
  _qf_n=0
  rm -f "$TMP".*
  set -f
  # shellcheck disable=SC2046
  set -- "$1" $(printf '%s\n' "$2" | awk -v target="$1" -v replicas="${3:-no}" '
    $3 ~ /(^|,)master(,|$)/ && NF > 8 { size++ }
    $1 == target || $3 ~ /(^|,)(myself|fail\??|handshake|noaddr)(,|$)/ { next }
    { addr = $2; sub(/[@,].*/, "", addr); port = addr; sub(/.*:/, "", port); sub(/:[^:]*$/, "", addr) }
    $3 ~ /(^|,)master(,|$)/ && NF > 8 { print "m", addr, port; next }
    $3 ~ /(^|,)slave(,|$)/ && replicas == "yes" && asked++ < 8 { print "r", addr, port }
    END { print "size", size + 0, 0 }')
  set +f
  _qf_target=$1
  shift
  while [ "$#" -ge 3 ]; do
    if [ "$1" = size ]; then
      _qf_size=$2
    else
      _qf_n=$((_qf_n + 1))
      # `kind flags ping-age pong-age` (ping-age -1: no PING out); nothing when TIME did not answer.
      printf 'TIME\nCLUSTER NODES\n' | acli "$2" "$3" 2>/dev/null | tr -d '\r' | awk -v target="$_qf_target" \
        -v kind="$1" 'NR == 1 { s = $1 } NR == 2 { now = s * 1000 + int($1 / 1000) }
          NR > 2 && $1 == target && now > 0 { print kind, $3, ($5 == "0" ? -1 : now - $5), now - $6 }' \
        >"$TMP.$_qf_n" &
    fi
    shift 3
  done
  wait
  _qf_agree=0
  FLAGGED=0
  for _qf_file in "$TMP".*; do
    [ -e "$_qf_file" ] || continue
    read -r _qf_kind _qf_flags _qf_ping _qf_pong <"$_qf_file" || continue
    if flagged_failing "$_qf_flags"; then
      FLAGGED=$((FLAGGED + 1))
      [ "$_qf_kind" = r ] || _qf_agree=$((_qf_agree + 1))
    elif [ "$_qf_kind" = m ] && [ "$_qf_ping" -ge 0 ] && [ "$_qf_pong" -ge "$NODE_TIMEOUT_MS" ]; then
      _qf_agree=$((_qf_agree + 1))
    fi
  done
  rm -f "$TMP".*
  QUORUM="$_qf_agree of $_qf_size"
  [ "$_qf_size" -gt 0 ] && [ "$_qf_agree" -ge $((_qf_size / 2 + 1)) ]
}

# How long (ms) master address $1 (ip:port) has not answered this replica on a port (master-probe.sh): file $2 is
# the probe's file for that port. Fails when the probe has no say: not running, probing another address, or no answer
# from this one yet.
probe_silence_ms() {
  kill -0 "$PROBE_PID" 2>/dev/null && [ -e "$2" ] || return 1
  read -r _ps_target 2>/dev/null <"$PROBE_TARGET" && [ "$_ps_target" = "$1" ] || return 1
  _ps_at=$(date -r "$2" +%s%3N 2>/dev/null) || return 1
  printf '%s' $(($(now_ms) - _ps_at))
}

# Reads both of the probe's measures of master address $1: SILENCE (client port, PINGs 100 ms apart) and BUS_SILENCE
# (cluster bus port, connections 500 ms apart), -1 where the probe has no say; WAIT_MS is how long until the first
# of them reaches its bound (the node timeout + the interval between its questions), 0 when none will.
read_probe() {
  SILENCE=$(probe_silence_ms "$1" "$PROBE_PONG") || SILENCE=-1
  BUS_SILENCE=$(probe_silence_ms "$1" "$PROBE_BUS") || BUS_SILENCE=-1
  WAIT_MS=0
  # One of them past its bound already: nothing to wait for.
  [ "$SILENCE" -le "$CLIENT_BOUND_MS" ] && [ "$BUS_SILENCE" -le "$BUS_BOUND_MS" ] || return 0
  for _rp in "$SILENCE $CLIENT_BOUND_MS" "$BUS_SILENCE $BUS_BOUND_MS"; do
    set -f
    # shellcheck disable=SC2086
    set -- $_rp
    set +f
    [ "$1" -ge 0 ] && [ "$1" -le "$2" ] || continue
    [ "$WAIT_MS" != 0 ] && [ "$WAIT_MS" -le $(($2 + 1 - $1)) ] || WAIT_MS=$(($2 + 1 - $1))
  done
}

# The other replicas of master $1 (this node is $2) in view $3 that could be elected: not failing, not nofailover.
other_replicas() {
  printf '%s\n' "$3" | while read -r _or_id _or_addr _or_flags _or_master _or_rest; do
    [ "$_or_master" = "$1" ] && [ "$_or_id" != "$2" ] || continue
    case ",$_or_flags," in *,fail,* | *,fail\?,* | *,handshake,* | *,noaddr,* | *,nofailover,*) continue ;; esac
    printf '%s|%s\n' "$_or_id" "$_or_addr"
  done
}

# Whether this replica ($1) has the highest replication offset among replicas $2 (id|addr lines) that answer (ties:
# the lowest node id), as Redis ranks replicas for the election.
best_replica() {
  [ -n "$2" ] || return 0
  _br_mine=$(info_field "$(acli "$SELF" "$REDIS_PORT" info replication 2>/dev/null | tr -d '\r')" slave_repl_offset)
  [ -n "$_br_mine" ] || return 1
  for _br_other in $2; do
    _br_id=${_br_other%%|*}
    _br_addr=${_br_other#*|}
    _br_theirs=$(info_field "$(acli "$(addr_ip "$_br_addr")" "$(addr_port "$_br_addr")" info replication 2>/dev/null |
      tr -d '\r')" slave_repl_offset)
    [ -n "$_br_theirs" ] || continue
    [ "$_br_theirs" -gt "$_br_mine" ] && return 1
    [ "$_br_theirs" = "$_br_mine" ] || continue
    [ "$(printf '%s\n%s\n' "$_br_id" "$1" | sort | head -n 1)" = "$_br_id" ] && return 1
  done
  return 0
}
