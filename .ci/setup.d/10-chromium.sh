#!/usr/bin/env bash
# The HTML trace viewer is tested in a real headless browser: Debian's chromium.
# Idempotent: does nothing when chromium is already installed.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
bash "$(dirname "$0")/../apt-install" chromium fonts-dejavu-core
command -v chromium
