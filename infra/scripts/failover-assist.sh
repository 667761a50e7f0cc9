#!/bin/sh
# slotforge failover assist of a RedisCluster member, started in the background by entrypoint.sh; it ends when the
# redis-server pid given as $1 is gone. Off with SLOTFORGE_FAILOVER_ASSIST=0 (the construct's failoverAssist prop).
#
# Redis fails a master over in three waits after its node timeout (docs/chaos.md, "What the timeline showed"):
# each other master must time out a PING of its own (PFAIL), their failure reports must reach one node by gossip,
# which then broadcasts FAIL, and the replica waits 500 ms + 0-500 ms + 1 s per rank before it asks for votes. A
# master sends that PING only when its last PONG (its own, or one another node reported by gossip) is half a node
# timeout old, so the second master of three flags a dead master at the node timeout plus a third of it on average.
# This loop reads this node's view every SLOTFORGE_FAILOVER_ASSIST_INTERVAL_MS; when this node is a replica and
# suspects its master (flagged failing here, or a PING to it unanswered for a second, or half the node timeout if that
# is less), it fails the master over at once (see assist below: FORCE, an election the masters vote in, before Redis
# agreed FAIL; TAKEOVER after, when Redis's own election would only wait) when these hold:
#  1. A witness has had no answer from the master for the whole node timeout, Redis's definition of unreachable:
#     this replica's probe (master-probe.sh) has had no reply to its PINGs (every 100 ms) for the node timeout + 100
#     ms, or no connection accepted by the master's cluster bus port (tried every 500 ms) for the node timeout + 600
#     ms, or this node or a node asked flags it failing (its own PING unanswered for the node timeout). A PONG time alone
#     is no witness: it is when the last answer came, and the node may not have been asked since (each node asks only
#     when its last PONG is half a node timeout old); counting from it failed a paused master over 0.6 s before the
#     node timeout (a drill, 2026-12-06).
#  2. As many masters serving slots as Redis's own quorum (masters serving slots / 2 + 1) confirm it: each flags it
#     failing, or has a PING to it unanswered and no PONG from it for the node timeout (its own PONG, or one another
#     node reported by gossip: Redis's gossip reports whole seconds, so that PONG may be up to a second later in
#     truth). Ages are read on each master's clock (TIME), so clock skew between pods does not count.
#  3. Before a FORCE: the master, asked right then on both ports within 0.5 s (a PING, and a TCP connection to its
#     cluster bus port; not the bus when the probe's own bus connections went unanswered past their bound), does not
#     answer on both, and this replica's probe did not hear it meanwhile. Every witness above counts time on its own
#     clock, including time in which it was not run: on a starved machine (a CI run) a master paused for 1.5 s at
#     node timeout 2 s was failed over on their word. The half second is what this adds to the failover of a master
#     that is frozen or cut off (SLOTFORGE_FAILOVER_ASSIST_ANSWER_WAIT_S).
# Redis waits until a quorum of masters has each had a PING of its own unanswered for the node timeout; the assist
# accepts one witness of the node timeout and a quorum that has heard nothing from the master for as long. What it
# reads differently: a master that answers only some peers (a one-way or partial partition that cuts its bus off from
# this replica) can be failed over where Redis, which also counts any data received from the master, would wait; and,
# as with Redis under the chart's cluster-replica-validity-factor 0, a replica whose own link was down for long can be
# the one promoted.
# Not acted on: a master without slots (a drained shard), a replica that is not the most advanced of its master's
# replicas that answer (rank, as Redis orders them), a replica with cluster-replica-no-failover, or within 2 x node
# timeout of the last takeover (how long masters refuse another vote for this master's replicas).
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"

MAIN_PID=$1
SELF=$(self_ip)
INTERVAL_MS=${SLOTFORGE_FAILOVER_ASSIST_INTERVAL_MS:-200}
TMP="$RUN_DIR/failover-assist"
# The master probe (condition 1): its files, and the pid of its keeper, so a probe that is not running is not read as
# a silent master.
PROBE_PONG="$RUN_DIR/master-probe.pong"
PROBE_TARGET="$RUN_DIR/master-probe.target"
PROBE_BUS="$RUN_DIR/master-probe.bus"

alive() { kill -0 "$MAIN_PID" 2>/dev/null; }

# The keeper starts the probe again if it ends while redis-server lives (killed, or a bug): without it the assist
# would have only the fail? flags to go by. A probe's files go with it at once: a file nobody touches any more would
# read as a master growing silent. The probe's helpers check it before each touch and end soon after it
# (master-probe.sh).
(
  _delay=1
  while alive; do
    _started=$(now_ms)
    sh "$CONFIG_DIR/master-probe.sh" "$MAIN_PID"
    _status=$?
    rm -f "$PROBE_PONG" "$PROBE_BUS" "$PROBE_TARGET"
    alive || break
    # One that ran for 10 s or more is started again in 1 s; one that keeps ending at once, ever less often (to 32 s).
    [ $(($(now_ms) - _started)) -lt 10000 ] || _delay=1
    log "master probe ended (status $_status): starting it again in $_delay s"
    sleep "$_delay"
    [ "$_delay" -ge 32 ] || _delay=$((_delay * 2))
  done
) &
PROBE_PID=$!
# redis-cli as admin against HOST PORT within 1 s, with the password read when the stream (re)started: a decision
# takes a handful of calls, and under load each fork counts (cat, timeout, tr of lib.sh's rcli).
acli() {
  _ac_host=$1
  _ac_port=$2
  shift 2
  # shellcheck disable=SC2086
  REDISCLI_AUTH=$AUTH timeout 1 redis-cli $TLS_ARGS --no-auth-warning -h "$_ac_host" -p "$_ac_port" "$@"
}

# The witnesses of conditions 1 and 2 (quorum_confirms, read_probe) and the ranking of replicas (best_replica).
# shellcheck source=assist-witnesses.sh
. "$CONFIG_DIR/assist-witnesses.sh"

# One decision on master $1 (this node is $2), suspected in this node's stream; prints the action it took (force or
# takeover) and succeeds only when Redis answered OK.
#  - Redis has not agreed FAIL yet (not flagged fail here): CLUSTER FAILOVER FORCE, which starts an election
#    at once. Its vote request is forced: the voters skip their own "is the master FAIL" check, so conditions 1 to 3
#    (the top of this file), checked just before, stand in for that check.
#  - Redis has agreed FAIL (flagged fail here) and this is the master's only replica that could be elected: Redis's own
#    election is then set up 500-1000 ms out, and a FORCE sent now waits for that schedule (clusterHandleSlaveFailover
#    keeps an attempt already set up). The decision the vote would make is made (FAIL agreed, no other candidate), so
#    CLUSTER FAILOVER TAKEOVER takes the slots at once with a new configEpoch. With other candidates it never takes
#    over: the vote is what keeps two of them from both winning.
#  - After a FORCE it sends nothing more for the same suspicion but that takeover, which ends the same election the
#    same way (this node wins) when FAIL came first.
assist() {
  _began=$(now_ms)
  _view=$(acli "$SELF" "$REDIS_PORT" cluster nodes 2>/dev/null) || return 1
  # The decision is taken on this fresh view: still a replica of $1 (replica migration may have moved it), and not
  # cluster-replica-no-failover (CONFIG SET of it shows as the nofailover flag).
  _me=$(myself_line "$_view")
  set -f
  # shellcheck disable=SC2086
  set -- "$1" "$2" $_me
  set +f
  [ "${6:-}" = "$1" ] || return 1
  case ",${5:-}," in *,slave,*) ;; *) return 1 ;; esac
  case ",${5:-}," in *,nofailover,*) return 1 ;; esac
  _master_line=$(printf '%s\n' "$_view" | grep "^$1 " || true)
  [ -n "$_master_line" ] && line_has_slots "$_master_line" || return 1
  case ",$(printf '%s' "$_master_line" | cut -d' ' -f3)," in
  *,fail,*) _agreed=yes ;;
  *) _agreed=no ;;
  esac
  _others=$(other_replicas "$1" "$2" "$_view")
  if [ "$_agreed" = yes ] && [ -z "$_others" ]; then
    _action=takeover
  else
    _action=force
    [ "$_forced" = yes ] && return 1
  fi
  _addr=$(printf '%s' "$_master_line" | cut -d' ' -f2)
  _addr="$(addr_ip "$_addr"):$(addr_port "$_addr")"
  _flagged_here=no
  flagged_failing "$(printf '%s' "$_master_line" | cut -d' ' -f3)" && _flagged_here=yes
  read_probe "$_addr"
  # Condition 2 (see the top of this file). Replicas are asked only when this node has no evidence of its own soon.
  _ask=yes
  [ "$_flagged_here" = yes ] || [ "$SILENCE" -gt "$CLIENT_BOUND_MS" ] || [ "$BUS_SILENCE" -gt "$BUS_BOUND_MS" ] ||
    { [ "$WAIT_MS" -gt 0 ] && [ "$WAIT_MS" -le 500 ]; } && _ask=no
  _confirmed=yes
  quorum_confirms "$1" "$_view" "$_ask" || _confirmed=no
  # Confirmed, and a probe's silence reaches its bound within half a second: wait for it here rather than for the
  # next view, then ask the masters again.
  if [ "$_confirmed" = yes ] && [ "$WAIT_MS" -gt 0 ] && [ "$WAIT_MS" -le 500 ]; then
    sleep "0.$(printf '%03d' "$WAIT_MS")"
    read_probe "$_addr"
    quorum_confirms "$1" "$_view" no || _confirmed=no
  fi
  # Condition 1.
  _evidence=
  if [ "$SILENCE" -gt "$CLIENT_BOUND_MS" ]; then
    _evidence="no reply to this replica's PINGs for $SILENCE ms"
  elif [ "$BUS_SILENCE" -gt "$BUS_BOUND_MS" ]; then
    _evidence="its cluster bus port accepted no connection from this replica for $BUS_SILENCE ms"
  elif [ "$_flagged_here" = yes ]; then
    _evidence='flagged failing here'
  elif [ "$FLAGGED" -gt 0 ]; then
    _evidence="flagged failing by $FLAGGED of the nodes asked"
  fi
  if [ "$_confirmed" = no ] || [ -z "$_evidence" ]; then
    # Once per suspicion, and again when condition 1 comes to hold: why nothing happens (a partition between this
    # replica and its master alone, say).
    _key=waiting${_evidence:+-evidence}
    [ "$_said" = "$_key" ] || log "assist: master $1 suspected here; unanswered for the node timeout:" \
      "${_evidence:-not yet}; $QUORUM masters serving slots confirm it: waiting"
    printf '%s' "$_key"
    return 1
  fi
  best_replica "$2" "$_others" || return 1
  # Condition 3, before a FORCE: every witness above may have counted time in which it was not run itself (a starved
  # machine: a master paused for 1.5 s at node timeout 2 s was forced over on a CI run), so the master is asked once
  # more, here and now, on both ports (answers_now). A port that answered this replica's probe since this decision
  # began counts as answered too (a starved replica hears its own question late). Answered on both, the decision ends
  # and the master is left to Redis's own judgement. A client port that answers while the bus does not is a bus cut
  # off (partition-bus): failed over.
  _asked=
  if [ "$_action" = force ]; then
    _cport=$(printf '%s' "$_master_line" | cut -d' ' -f2)
    _cport=${_cport#*@}
    _cport=${_cport%%,*}
    # Said once per suspicion, like the answer below.
    [ "$_said" = waiting-answered ] || log "assist: master $1: conditions 1 and 2 hold ($_evidence; $QUORUM masters" \
      "serving slots confirm it); asking it itself within $ANSWER_WAIT_S s"
    # The probe's bus connections unanswered past their bound (condition 1's own evidence, more than a starved
    # replica's lateness): the bus is not asked again, so a PING answered at once is failed over at once
    # (partition-bus) instead of after the bus question's whole wait.
    [ "$BUS_SILENCE" -le "$BUS_BOUND_MS" ] || _cport=-
    _answer=$(answers_now "$_addr" "$_cport" "$ANSWER_WAIT_S")
    _ping=${_answer% *}
    _bus=${_answer#* }
    read_probe "$_addr"
    _window=$(($(now_ms) - _began))
    _asked="PING answered in $_ping ms"
    if [ "$_ping" = - ]; then
      _asked='PING unanswered'
      [ "$SILENCE" -lt 0 ] || [ "$SILENCE" -ge "$_window" ] || {
        _ping=probe
        _asked="PING unanswered but the probe's answered $SILENCE ms ago"
      }
    fi
    _b="cluster bus connection $_bus"
    [ "$_bus" != unasked ] || _b="cluster bus connection not asked: the probe's unanswered for $BUS_SILENCE ms"
    _asked="; asked itself: $_asked, $_b"
    [ "$_bus" = accepted ] || [ "$BUS_SILENCE" -lt 0 ] || [ "$BUS_SILENCE" -ge "$_window" ] || {
      _bus=accepted
      _asked="$_asked but the probe's accepted $BUS_SILENCE ms ago"
    }
    if [ "$_ping" != - ] && [ "$_bus" = accepted ]; then
      [ "$_said" = waiting-answered ] || log "assist: master $1 answers (${_asked#; }; probe: $SILENCE ms since a" \
        "PING reply, $BUS_SILENCE ms since a bus connection): waiting"
      printf waiting-answered
      return 1
    fi
    # Redis may have agreed FAIL while the master was asked: a FORCE would then wait for Redis's own election
    # schedule, so the only candidate takes over instead (see above); or Redis's own election promoted this node.
    _view=$(acli "$SELF" "$REDIS_PORT" cluster nodes 2>/dev/null) || return 1
    [ "$(myself_line "$_view" | cut -d' ' -f4)" = "$1" ] || return 1
    case ",$(printf '%s\n' "$_view" | grep "^$1 " | cut -d' ' -f3)," in
    *,fail,*) [ -n "$_others" ] || _action=takeover ;;
    esac
  fi
  _reply=$(acli "$SELF" "$REDIS_PORT" cluster failover "$_action" 2>&1)
  log "assist: master $1 unanswered for the node timeout ($_evidence$_asked), confirmed by $QUORUM masters serving" \
    "slots; CLUSTER FAILOVER $_action: $_reply ($(($(now_ms) - _since)) ms after this node began to suspect it;" \
    "probe: $SILENCE ms since a PING reply, $BUS_SILENCE ms since a bus connection)"
  [ "$_reply" = OK ] || return 1
  printf '%s' "$_action"
}

# How long condition 3's questions may take (seconds): what it adds to a failover of a master that is really gone.
ANSWER_WAIT_S=${SLOTFORGE_FAILOVER_ASSIST_ANSWER_WAIT_S:-0.5}
# More than 0 (`timeout 0` would wait for ever) and less than 10 s.
case "$ANSWER_WAIT_S" in
*[!0-9.]* | '' | .* | *.*.* | *.) _valid=no ;;
*[1-9]*) [ "${ANSWER_WAIT_S%%.*}" -lt 10 ] && _valid=yes || _valid=no ;;
*) _valid=no ;;
esac
[ "$_valid" = yes ] || {
  log "SLOTFORGE_FAILOVER_ASSIST_ANSWER_WAIT_S='$ANSWER_WAIT_S' is not a number of seconds over 0 and under 10," \
    "such as 0.5: using 0.5"
  ANSWER_WAIT_S=0.5
}
_secs=$((INTERVAL_MS / 1000)).$(printf '%03d' $((INTERVAL_MS % 1000)))
_last=0
_next=0
_since=0
_forced=no
_forced_at=0
_said=no
while alive; do
  # One redis-cli repeats CLUSTER NODES every interval (-r -1 -i): one process, not one per poll. It ends when the
  # server goes away; the loop starts it again while redis-server lives. redis-cli flushes each reply; a filter in the
  # pipe must flush each line too (tr, grep write to a pipe in 4 KiB blocks, which held the lines back 1.2 s).
  AUTH=$(secret admin)
  # The server's own settings, read when it answers (this loop starts with redis-server, before it listens).
  NODE_TIMEOUT_MS=$(acli "$SELF" "$REDIS_PORT" config get cluster-node-timeout 2>/dev/null | tr -d '\r' | tail -n 1)
  case "$NODE_TIMEOUT_MS" in '' | *[!0-9]*)
    sleep 1
    continue
    ;;
  esac
  # The probe's bounds (condition 1): the node timeout + how long after the last answer the next question may start
  # on that port (100 ms apart on the client port; on the bus 500 ms, and up to 100 ms more to start bash).
  CLIENT_BOUND_MS=$((NODE_TIMEOUT_MS + 100))
  BUS_BOUND_MS=$((NODE_TIMEOUT_MS + 600))
  SUSPECT_MS=$((NODE_TIMEOUT_MS / 2))
  [ "$SUSPECT_MS" -le 1000 ] || SUSPECT_MS=1000
  # mawk picks the two lines that matter (this node's, and its master's while a PING to it is unanswered or it is
  # flagged failing; "- clear" once it is not) and flushes each; `-W interactive` stops mawk from waiting to fill its
  # input buffer from the pipe (it held the lines back). sh's `read` takes a byte per system call, and reading
  # every line of every view (5 per second, a line per member) cost a 60-member cluster on 2 cores most of its CPU
  # (issue 15, item 5). A master's line met before this node's line counts against the previous view's master.
  # shellcheck disable=SC2086
  REDISCLI_AUTH=$AUTH redis-cli $TLS_ARGS --no-auth-warning -h "$SELF" -p "$REDIS_PORT" -r -1 \
    -i "$_secs" cluster nodes 2>/dev/null | awk -W interactive '
      $3 ~ /(^|,)myself(,|$)/ { myid = $1; master = ($3 ~ /(^|,)slave(,|$)/) ? $4 : ""; next }
      master != "" && $1 == master {
        if ($3 ~ /(^|,)fail\??(,|$)/ || $5 != "0") { print myid, master, $3, $5; fflush(); shown = 1 }
        else if (shown) { print "-", "clear"; fflush(); shown = 0 }
      }' | {
    while read -r _myid _master _flags _ping; do
      [ "$_myid" != - ] || {
        _since=0
        _said=no
        continue
      }
      # Suspect: flagged failing here, or a PING to it unanswered for a second (half the node timeout if that is
      # less). Redis sends this node's PING half a node timeout after the last PONG anyone reported at the latest, so
      # a dead master is suspected here before it has been silent for the node timeout; conditions 1 to 3 decide.
      if ! flagged_failing "$_flags" && [ $(($(now_ms) - _ping)) -lt "$SUSPECT_MS" ]; then
        _since=0
        continue
      fi
      _now=$(now_ms)
      # When this suspicion began, for the log line.
      [ "$_since" != 0 ] || _since=$_now
      # One decision per poll interval at most: lines read meanwhile are skipped (no fork), so no backlog builds up.
      [ "$_now" -ge "$_next" ] || continue
      # After a takeover, nothing again for 2 x node timeout (how long masters refuse another vote for this master's
      # replicas); a FORCE is sent once per suspicion (see assist).
      [ $((_now - _last)) -ge $((2 * NODE_TIMEOUT_MS)) ] || continue
      [ $((_now - _forced_at)) -ge $((2 * NODE_TIMEOUT_MS)) ] && _forced=no && _said=no
      _decision=$(assist "$_master" "$_myid")
      case "$_decision" in
      takeover) _last=$_now ;;
      force)
        _forced=yes
        _forced_at=$_now
        ;;
      waiting*)
        _said=$_decision
        _forced_at=$_now
        ;;
      esac
      _next=$(($(now_ms) + INTERVAL_MS))
      alive || exit 0
    done
  }
  alive || break
  sleep 1
done
