#!/bin/sh
# slotforge entrypoint of a RedisSentinel sentinel pod.
# Sentinel keeps its state (its id, epochs, the current primary, known replicas and sentinels) in its own config file
# and rewrites it on every change, so the file lives on the pod's volume:
#  - restart with a file: the file is kept as Sentinel wrote it; only the pod-specific lines (bind, announce-ip) and
#    the secret lines (passwords, refreshed from the Secret) are replaced. The sentinel returns with the view it had,
#    instead of monitoring a stale initial primary (the field's split brain after a restart);
#  - first start: the primary most other sentinels report; else a data pod that is a master with a connected replica;
#    else ordinal 0 (the same rule the data pods use, so both agree on a fresh deployment).
# Sentinel saves its working directory in the file as `dir "..."` on every rewrite and chdirs there on the next start:
# a sentinel started in another directory (a runtime's cwd, a path a private /tmp hides later) would crash-loop with
# `FATAL CONFIG FILE ERROR ... 'dir "..."' No such file or directory`. So the file always names the data volume, any
# saved `dir` is replaced, and the sentinel starts in that directory whatever the container's working directory is.
set -eu
. "${SLOTFORGE_CONFIG_DIR:-/opt/slotforge}/lib.sh"
. "$CONFIG_DIR/sentinel-lib.sh"

QUORUM=${SLOTFORGE_QUORUM:?}
CONF="$DATA_DIR/sentinel.conf"
mkdir -p "$DATA_DIR"
umask 077

if [ -s "$CONF" ] && grep -q "^sentinel monitor $MASTER_NAME " "$CONF"; then
  log "keeping the sentinel state in $CONF: $(grep "^sentinel monitor $MASTER_NAME " "$CONF")"
  grep -v -e '^dir ' -e '^bind ' -e '^sentinel announce-ip ' -e '^sentinel announce-port ' -e '^requirepass ' \
    -e '^user ' -e '^sentinel auth-user ' -e '^sentinel auth-pass ' -e '^sentinel sentinel-user ' \
    -e '^sentinel sentinel-pass ' "$CONF" >"$CONF.tmp" || true
else
  primary=$(ask_sentinels "$POD_NAME" || true)
  source='the other sentinels'
  if [ -z "$primary" ]; then
    primary=$(live_primary || true)
    source='a live primary'
  fi
  if [ -z "$primary" ]; then
    primary="$(pod_fqdn "$(data_pod 0)") $REDIS_PORT"
    source='ordinal 0'
  fi
  log "first start: monitoring $primary as $MASTER_NAME (from $source)"
  {
    cat "$CONFIG_DIR/sentinel.conf"
    printf 'sentinel monitor %s %s %s\n' "$MASTER_NAME" "$primary" "$QUORUM"
    cat "$CONFIG_DIR/sentinel-master.conf"
  } >"$CONF.tmp"
fi
{
  printf 'dir "%s"\n' "$DATA_DIR"
  [ -n "${REDIS_BIND:-}" ] && printf 'bind %s\n' "$REDIS_BIND"
  printf 'sentinel announce-ip %s\nsentinel announce-port %s\n' "$(self_fqdn)" "$SENTINEL_PORT"
  # Clients, scripts and the other sentinels authenticate to this sentinel with the sentinel-access password.
  printf 'requirepass %s\nsentinel sentinel-pass %s\n' "$(secret sentinel-access)" "$(secret sentinel-access)"
  # This sentinel logs in to the Redis pods as the least-privileged `sentinel` ACL user.
  printf 'sentinel auth-user %s sentinel\nsentinel auth-pass %s %s\n' "$MASTER_NAME" "$MASTER_NAME" "$(secret sentinel)"
} >>"$CONF.tmp"
mv "$CONF.tmp" "$CONF"
cd "$DATA_DIR"
exec redis-sentinel "$CONF"
