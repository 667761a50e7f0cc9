#!/bin/sh
# slotforge master probe of a RedisCluster member, started by failover-assist.sh; it ends when the redis-server pid
# given as $1 is gone. While this node is a replica it PINGs its master's client port every 100 ms and touches
# $RUN_DIR/master-probe.pong at every reply; $RUN_DIR/master-probe.target names the master (ip:port) those replies
# came from. The failover assist reads the file's age as how long the master has not answered this replica: evidence
# asked for every 100 ms, where Redis's own PING to a node goes out only when its last PONG is half a node timeout old
# (docs/chaos.md, "What the timeline showed"). The age alone never fails a master over: see failover-assist.sh.
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"

MAIN_PID=$1
SELF=$(self_ip)
PONG="$RUN_DIR/master-probe.pong"
TARGET="$RUN_DIR/master-probe.target"
# How long one redis-cli runs (300 PINGs 100 ms apart) before the master's address is read again.
SESSION_S=30

alive() { kill -0 "$MAIN_PID" 2>/dev/null; }

# ip:port of this node's master in its own view; empty while this node is a master (or does not answer).
master_addr() {
  # shellcheck disable=SC2086
  REDISCLI_AUTH=$(secret probe) timeout 1 redis-cli $TLS_ARGS --no-auth-warning --user probe -h "$SELF" \
    -p "$REDIS_PORT" cluster nodes 2>/dev/null | awk '
      { addr[$1] = $2 }
      $3 ~ /(^|,)myself(,|$)/ && $3 ~ /(^|,)slave(,|$)/ { master = $4 }
      END { if (master != "" && (master in addr)) { a = addr[master]; sub(/[@,].*/, "", a); print a } }'
}

# Files of an earlier run of this container (the run dir outlives a restart) say nothing about now.
rm -f "$PONG" "$TARGET"
_target=
while alive; do
  _addr=$(master_addr)
  if [ -z "$_addr" ] || [ "${_addr%:*}" = "" ]; then
    # A master, or this node did not answer: nothing to measure, and no old measure left to read as silence.
    rm -f "$PONG" "$TARGET"
    _target=
    sleep 5
    continue
  fi
  if [ "$_addr" != "$_target" ]; then
    # A new master counts as silent only after it has answered once here: no reply yet is no evidence.
    rm -f "$PONG"
    printf '%s\n' "$_addr" >"$TARGET"
    _target=$_addr
  fi
  # One redis-cli per session; every line it prints is a reply of the master (PONG, or an error such as LOADING: the
  # master's event loop ran). A master that is frozen or cut off leaves redis-cli waiting; `timeout` ends the session
  # so the address is read again. `: >` is the shell's own redirection: no process per reply.
  # shellcheck disable=SC2086
  REDISCLI_AUTH=$(secret probe) timeout "$SESSION_S" redis-cli $TLS_ARGS --no-auth-warning --user probe \
    -h "${_addr%:*}" -p "${_addr##*:}" -r $((SESSION_S * 10)) -i 0.1 ping 2>/dev/null | while read -r _reply; do
    : >"$PONG"
  done
  alive || break
  # redis-cli ends at once when the master refuses the connection (its process gone): not a busy loop. The silence
  # goes on counting from the last reply meanwhile.
  sleep 0.5
done
rm -f "$PONG" "$TARGET"
