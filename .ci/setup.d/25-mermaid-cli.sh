#!/usr/bin/env bash
# `agree trace chart --format mermaid` is tested by rendering every golden trace with
# Mermaid's official CLI (mmdc, tests/test_trace_chart.py), driving the chromium that
# 10-chromium.sh installs (puppeteer's own browser download is skipped). Installed under
# /opt/agree-mermaid-cli, where the test looks (or set AGREE_MMDC). Idempotent.
set -euo pipefail
PREFIX=/opt/agree-mermaid-cli
VERSION=11.17.0
if [ -x "$PREFIX/node_modules/.bin/mmdc" ] && \
   grep -q "\"version\": \"$VERSION\"" "$PREFIX/node_modules/@mermaid-js/mermaid-cli/package.json"; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
mkdir -p "$PREFIX"
PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error \
    "@mermaid-js/mermaid-cli@$VERSION" >/dev/null
"$PREFIX/node_modules/.bin/mmdc" --version
