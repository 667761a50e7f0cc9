#!/usr/bin/env bash
# CI, the non-root mode (issue 18): as an ordinary user, `npm start` until the client demo and the status table, then
# port-forward and exec from outside, then the local-runtime tests and the full-restart chaos drill in a user
# namespace (`slotforge unshare`). Run as root on the CI machine (it creates the user); prints the time to the demo
# and the drill's figures.
# Usage: .ci/rootless.sh [USER]   (default sfci)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
user="${1:-sfci}"
if [ "$(id -u)" -ne 0 ]; then
  echo "rootless.sh: run as root (it creates the user '$user' and gives it a clone and the images)" >&2
  exit 1
fi
id "$user" >/dev/null 2>&1 || useradd -m -s /bin/bash "$user"
home="$(getent passwd "$user" | cut -d: -f6)"
clone="$home/slotforge"

# A clone the user owns, with node_modules hard-linked (never chown the links: they are the checkout's files).
rm -rf "$clone"
git clone -q "$repo" "$clone"
(cd "$repo" && git ls-files -mo --exclude-standard -z | while IFS= read -r -d "" f; do [ -e "$f" ] && printf "%s\0" "$f"; done | tar -cf - --null -T -) | tar -C "$clone" -xf -
cp -al "$repo/node_modules" "$clone/node_modules"
rm -f "$clone/node_modules/.package-lock.json" && cp "$repo/node_modules/.package-lock.json" "$clone/node_modules/"
find "$clone" -path "$clone/node_modules" -prune -o -print0 | xargs -0 chown -h "$user:"
find "$clone/node_modules" -type d -print0 | xargs -0 chown "$user:"
chown "$user:" "$clone/node_modules/.package-lock.json"

# The images, shared: root's built images hard-linked into the user's cache (never written: each container's root is
# an overlay above them), with their host-bin wrappers rewritten to the new place.
root_cache="$(cd "$repo" && node --import tsx -e "import('$repo/runtime/images/cache.ts').then((m) => console.log(m.imageCacheDir()))")"
user_cache="$home/.cache/slotforge/images"
mkdir -p "$user_cache"
for dir in "$root_cache"/*/; do
  name="$(basename "$dir")"
  [ -f "$dir/image.json" ] || continue
  [ -f "$user_cache/$name/image.json" ] && continue
  rm -rf "${user_cache:?}/${name:?}"
  cp -al "$dir" "$user_cache/$name"
  for wrapper in "$user_cache/$name"/host-bin/*; do
    sed "s#$root_cache#$user_cache#g" "$wrapper" > "$wrapper.new" && chmod 755 "$wrapper.new" && mv "$wrapper.new" "$wrapper"
  done
  # A copy of image.json, not a link: chown on the link would hand root's own file to the user.
  cp --remove-destination "$dir/image.json" "$user_cache/$name/image.json"
  chown "$user:" "$user_cache/$name" "$user_cache/$name/host-bin" "$user_cache/$name"/host-bin/* "$user_cache/$name/image.json"
done
chown "$user:" "$home/.cache" "$home/.cache/slotforge" "$user_cache"

as_user() { su - "$user" -c "cd '$clone' && $1"; }

# npm start until the demo and the status table, then Ctrl-C; nothing of it may be left.
log="$(mktemp)"
chown "$user:" "$log"
# Whatever happens: the user's processes are stopped and this script's files removed (the user and its clone stay for
# a look after a failure; the next run replaces the clone).
cleanup() {
  pkill -KILL -u "$user" 2>/dev/null || true
  rm -f "$log" "$log.pid"
}
trap cleanup EXIT
started=$(date +%s.%N)
# In a session of its own whose id is npm's pid, so Ctrl-C (SIGINT to its process group) reaches it as a terminal's would.
as_user "setsid sh -c 'echo \$\$ > $log.pid; exec npm start' > '$log' 2>&1 < /dev/null &"
for _ in $(seq 1 50); do [ -s "$log.pid" ] && break; sleep 0.1; done
ok=0
for _ in $(seq 1 300); do
  if grep -q 'up until Ctrl-C' "$log"; then ok=1; break; fi
  sleep 1
done
up_s=$(awk -v a="$(date +%s.%N)" -v b="$started" 'BEGIN { printf "%.1f", a - b }')
kill -INT -- "-$(cat "$log.pid")" 2>/dev/null || true
for _ in $(seq 1 120); do kill -0 "$(cat "$log.pid")" 2>/dev/null || break; sleep 1; done
cat "$log"
[ "$ok" = 1 ] || { echo "rootless.sh: npm start as $user did not reach 'up until Ctrl-C'" >&2; exit 1; }
for want in 'client demo' 'set/get' 'cache-aside' 'cluster_state:ok' 'non-root mode:'; do
  grep -q "$want" "$log" || { echo "rootless.sh: npm start as $user printed no '$want'" >&2; exit 1; }
done
# Live processes only: a zombie is already gone and waits for its parent to read its status.
left=""
for _ in $(seq 1 20); do
  left="$(ps -u "$user" -o pid=,stat=,cmd= | awk '$2 !~ /^Z/' || true)"
  [ -z "$left" ] && break
  sleep 0.5
done
[ -z "$left" ] || { echo "rootless.sh: left running after Ctrl-C: $left" >&2; exit 1; }
echo "rootless.sh: npm start as $user: healthy, demo and status after ${up_s} s (synth and bootstrap included)"

# The local-runtime tests and the full-restart drill, in a user namespace where the tests are root.
# Host access from outside the namespace, as the user: port-forward (ioredis natMap) and exec.
as_user "npx vitest run test/runtime/local/rootless"
as_user "node bin/slotforge.js unshare -- npx vitest run test/runtime/local/runtime.test.ts"
as_user "node bin/slotforge.js unshare -- npx vitest run test/chaos/local.test.ts -t full-restart"
