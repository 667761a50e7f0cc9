#!/bin/sh
# slotforge master probe of a RedisCluster member, started by failover-assist.sh; it ends when the redis-server pid
# given as $1 is gone. While this node is a replica it asks its master, on both of its ports, whether it is there:
#  - the client port: a PING every 100 ms; $RUN_DIR/master-probe.pong is touched at every reply;
#  - the cluster bus port: a TCP connection every 500 ms (opened and closed, no message: Redis frees the link at EOF
#    and logs it only at verbose); $RUN_DIR/master-probe.bus is touched at every connection it accepts. A frozen
#    process still has its connections accepted by the kernel, so this one sees only a cut network (a cluster bus cut
#    off while clients still reach the master, the drill partition-bus).
# $RUN_DIR/master-probe.target names the master (ip:port) both answered for. The failover assist reads each file's age
# as how long the master has not answered on that port: evidence asked for every 100 or 500 ms, where Redis's own
# PING to a node goes out only when its last PONG is half a node timeout old (docs/chaos.md, "What the timeline
# showed"). The age alone never fails a master over: see failover-assist.sh.
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"

MAIN_PID=$1
SELF=$(self_ip)
PONG="$RUN_DIR/master-probe.pong"
BUS="$RUN_DIR/master-probe.bus"
TARGET="$RUN_DIR/master-probe.target"
# How long one redis-cli runs (300 PINGs 100 ms apart) before the master's address is read again.
SESSION_S=${SLOTFORGE_PROBE_SESSION_S:-30}

alive() { kill -0 "$MAIN_PID" 2>/dev/null; }
# This probe's pid: its helpers (the bus loop, the reader of PINGs) check it right before they touch a file, and stop
# once it is gone (the bus loop within 0.5 s; the reader at its next reply).
PROBE=$$
mine() { kill -0 "$PROBE" 2>/dev/null; }

# `ip:port cport` of this node's master in its own view; empty while this node is a master (or does not answer).
master_addr() {
  # shellcheck disable=SC2086
  REDISCLI_AUTH=$(secret probe) timeout 1 redis-cli $TLS_ARGS --no-auth-warning --user probe -h "$SELF" \
    -p "$REDIS_PORT" cluster nodes 2>/dev/null | awk '
      { addr[$1] = $2 }
      $3 ~ /(^|,)myself(,|$)/ && $3 ~ /(^|,)slave(,|$)/ { master = $4 }
      END {
        if (master == "" || !(master in addr)) exit
        a = addr[master]; sub(/,.*/, "", a); c = a; sub(/.*@/, "", c); sub(/@.*/, "", a); print a, c
      }'
}

# Files of an earlier run of this container (the run dir outlives a restart) say nothing about now.
rm -f "$PONG" "$BUS" "$TARGET"
_target=
_bus_pid=
# Connects to the cluster bus at $1 (ip) $2 (port) every 500 ms until stopped (stop_bus) or redis-server is gone;
# bash's /dev/tcp opens the connection (the image's dash has none), `timeout` bounds one a cut network never answers.
bus_probe() {
  while alive && mine; do
    bus_accepts "$1" "$2" 0.4 && mine && : >"$BUS"
    sleep 0.5
  done
}
# Stops the bus probe of the previous target, by its own pid: once stopped it touches no file.
stop_bus() {
  [ -z "$_bus_pid" ] || {
    kill "$_bus_pid" 2>/dev/null
    wait "$_bus_pid" 2>/dev/null
  }
  _bus_pid=
}

# Whether the last session's PINGs were all answered (redis-cli ran to its end).
_answered=no
while alive; do
  _line=$(master_addr)
  _addr=${_line% *}
  _cport=${_line##* }
  if [ -z "$_line" ] || [ "${_addr%:*}" = "" ]; then
    # A master, or this node did not answer: nothing to measure, and no old measure left to read as silence.
    stop_bus
    rm -f "$PONG" "$BUS" "$TARGET"
    _target=
    _answered=no
    sleep 5
    continue
  fi
  if [ "$_addr" != "$_target" ]; then
    # A new master counts as silent only after it has answered once here: no reply yet is no evidence.
    stop_bus
    rm -f "$PONG" "$BUS"
    printf '%s\n' "$_addr" >"$TARGET"
    _target=$_addr
    _answered=no
  fi
  # The bus loop of this target: started here, and again if it died alone (killed, a failed fork), when its file is
  # removed at once: a file nobody touches would read as a bus growing silent.
  [ -n "$_bus_pid" ] && kill -0 "$_bus_pid" 2>/dev/null || {
    rm -f "$BUS"
    bus_probe "${_addr%:*}" "$_cport" &
    _bus_pid=$!
  }
  # Between two sessions nobody asked the master: one that answered the last question of the previous session counts
  # from the first question of this one (else the gap, up to 2 s, would count as its silence).
  [ "$_answered" = no ] || : >"$PONG"
  # One redis-cli per session; every line it prints is a reply of the master (PONG, or an error such as LOADING: the
  # master's event loop ran). A master that is frozen or cut off leaves redis-cli waiting; `timeout` ends the session
  # so the address is read again. `: >` is the shell's own redirection: no process per reply. The reader exits with
  # redis-cli's status: 0 only when every PING was answered.
  {
    # shellcheck disable=SC2086
    REDISCLI_AUTH=$(secret probe) timeout $((SESSION_S + 5)) redis-cli $TLS_ARGS --no-auth-warning --user probe \
      -h "${_addr%:*}" -p "${_addr##*:}" -r $((SESSION_S * 10)) -i 0.1 ping 2>/dev/null
    echo "slotforge-exit $?"
  } | {
    _code=1
    while read -r _reply; do
      case "$_reply" in "slotforge-exit "*)
        _code=${_reply#slotforge-exit }
        continue
        ;;
      esac
      mine || exit 1
      : >"$PONG"
      # The bus loop gone between two sessions: its file goes now (the next session starts it again).
      kill -0 "$_bus_pid" 2>/dev/null || [ ! -e "$BUS" ] || rm -f "$BUS"
    done
    exit "$_code"
  }
  if [ "$?" = 0 ]; then
    _answered=yes
  else
    _answered=no
    # redis-cli ends at once when the master refuses the connection (its process gone): not a busy loop. The silence
    # goes on counting from the last reply meanwhile.
    sleep 0.5
  fi
done
stop_bus
rm -f "$PONG" "$BUS" "$TARGET"
