#!/usr/bin/env bash
# Lints every pod script the charts ship: `sh -n` (POSIX sh syntax, as the images' dash parses it) and shellcheck
# (warnings and errors, following the files each script sources). Part of `npm run lint`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mapfile -t scripts < <(find infra/scripts infra/sentinel/scripts -name '*.sh' | sort)
status=0
for script in "${scripts[@]}"; do
  if ! sh -n "$script"; then
    echo "lint-shell: $script: sh -n found a syntax error" >&2
    status=1
  fi
done
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "lint-shell: shellcheck is missing: run scripts/bootstrap.sh (Debian package shellcheck)" >&2
  exit 1
fi
shellcheck --shell=sh --severity=warning --external-sources --source-path=SCRIPTDIR "${scripts[@]}" || status=1
[ "$status" -eq 0 ] && echo "lint-shell: ${#scripts[@]} pod scripts pass sh -n and shellcheck"
exit "$status"
