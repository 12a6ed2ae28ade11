#!/usr/bin/env bash
# `agree trace chart --format plantuml` is tested by rendering every golden trace with
# PlantUML (tests/test_trace_chart.py): Debian's plantuml (Java). Idempotent.
set -euo pipefail
if command -v plantuml >/dev/null 2>&1; then
    exit 0
fi
bash "$(dirname "$0")/../apt-install" plantuml
command -v plantuml
