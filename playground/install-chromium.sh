#!/usr/bin/env bash
# Installs Debian's chromium for the playground's headless e2e check
# (playground/e2e/browser.mjs). Idempotent: does nothing when
# /usr/bin/chromium already exists.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-chromium.sh: need root (or sudo) to apt-get install chromium" >&2
    exit 1
  fi
fi

$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

if [ ! -x /usr/bin/chromium ]; then
  echo "install-chromium.sh: /usr/bin/chromium still missing after apt-get install" >&2
  exit 1
fi
