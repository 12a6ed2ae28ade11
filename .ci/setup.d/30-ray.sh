#!/usr/bin/env bash
# The optional Ray backend is tested against a local Ray (tests/test_ray.py); install the
# `ray` extra into the CI environment. Idempotent: pip skips what is already installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
python -m pip install --quiet -e '.[ray]'
