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
    if ! bash "$(dirname "$0")/../apt-install" npm; then
        echo "25-mermaid-cli: npm could not be installed; mermaid rendering tests will skip" >&2
        exit 0
    fi
fi
mkdir -p "$PREFIX"
# the npm registry may be out of reach (CI promises PyPI and Debian only): then the
# rendering tests skip, saying so, and the grammar tests still run; never fail CI here
if ! PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix "$PREFIX" --no-audit --no-fund \
        --loglevel=error "@mermaid-js/mermaid-cli@$VERSION" >/dev/null; then
    echo "25-mermaid-cli: npm could not install mermaid-cli; its rendering tests will skip" >&2
    exit 0
fi
"$PREFIX/node_modules/.bin/mmdc" --version
