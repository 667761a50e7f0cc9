#!/usr/bin/env bash
# Installs what slotforge needs on a Debian machine with Node 20, and nothing when all of it is present.
# - Debian packages: installed with apt-get when root; otherwise the exact command to run is printed and we exit 1.
# - npm dependencies: `npm ci` when node_modules is missing or older than package-lock.json.
# - container images (runtime/images/recipes.ts): built with mmdebstrap into the image cache outside the repo when
#   missing (as root; otherwise the exact command to run is printed and we exit 1). Redis, Sentinel and the exporter
#   run from these images everywhere (runtime, tests, bench, chaos), never from the host's packages.
# Called first by `npm start` and `npm test`, so both work on a fresh clone.
set -euo pipefail

root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root_dir"

# command -> Debian package that provides it
commands=(mmdebstrap prometheus promtool ip nft shellcheck)
packages=(mmdebstrap prometheus prometheus iproute2 nftables shellcheck)

# ip and nft live in /usr/sbin, which is not on a normal user's PATH.
have() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}

major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$major" -lt 20 ]; then
  echo "slotforge: Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

missing=()
for i in "${!commands[@]}"; do
  if ! have "${commands[$i]}"; then
    pkg="${packages[$i]}"
    case " ${missing[*]:-} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "slotforge bootstrap: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/slotforge-apt.log 2>&1; then
      apt-get update >>/tmp/slotforge-apt.log 2>&1
      if ! apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/slotforge-apt.log 2>&1; then
        echo "slotforge bootstrap: apt-get install failed; see /tmp/slotforge-apt.log" >&2
        tail -n 20 /tmp/slotforge-apt.log >&2
        exit 1
      fi
    fi
    # Debian starts packaged services where systemd runs; slotforge starts its own processes on free ports.
  else
    echo "slotforge: missing system packages: ${missing[*]}" >&2
    echo "slotforge: run this once, then try again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

# Not root: the local runtime runs in a user namespace of this user (docs/local-runtime.md, Without root).
if [ "$(id -u)" -ne 0 ] && ! unshare --user --map-root-user --net --mount true 2>/dev/null; then
  echo "slotforge: this kernel refuses user namespaces to $(id -un), and the local runtime needs one (or root)." >&2
  echo "slotforge: run this once, then try again:" >&2
  echo "  sudo sysctl -w kernel.unprivileged_userns_clone=1 user.max_user_namespaces=15000" >&2
  exit 1
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "slotforge bootstrap: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# Images: a cache hit is a stat per image; a miss builds it (about 15 to 60 s each, downloads from deb.debian.org).
node --import tsx runtime/images/main.ts build
