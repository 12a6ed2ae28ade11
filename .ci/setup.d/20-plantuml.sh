#!/usr/bin/env bash
# `agree trace chart --format plantuml` is tested by rendering every golden trace with
# PlantUML (tests/test_trace_chart.py): Debian's plantuml (Java). Idempotent.
set -euo pipefail
if command -v plantuml >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends plantuml >/dev/null
command -v plantuml
