#!/usr/bin/env bash
# Installs what the browser tests need when it is missing, and checks it runs:
#   - Debian's Chromium (/usr/bin/chromium; the npm package downloads no browser);
#   - Node.js and npm (Debian's, when there is no node at all);
#   - playwright-core into tests/browser/node_modules, pinned by package-lock.json (npm ci).
# Then runs the dashboard's JavaScript unit tests (node --test tests/web/).
# Used by scripts/test.sh (and so by .ci/run); safe to run again: it installs nothing twice.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "[browser-deps] $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  log "installing $* from apt"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
}

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || apt_install chromium
command -v node >/dev/null || apt_install nodejs npm

if [ ! -d tests/browser/node_modules/playwright-core ]; then
  log "installing playwright-core (tests/browser/package-lock.json)"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

"$CHROMIUM" --version >&2
node --test tests/web/
