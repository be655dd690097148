#!/usr/bin/env bash
# Runs two TWS API clients nobody on this project wrote against the built simulator: the
# ib_async conformance script and IB's own Python client (`ibapi` from PyPI). Creates (once) a
# venv in target/ with both, pinned. Usage: tests/clients/run.sh [path/to/ibkr-cockpit]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${1:-target/debug/ibkr-cockpit}"
VENV=target/conformance-venv
IB_ASYNC_VERSION=2.1.0
IBAPI_VERSION=9.81.1.post1
if [ ! -x "$BIN" ]; then
  echo "conformance: $BIN not found; build it first (cargo build)" >&2
  exit 1
fi
if ! "$VENV/bin/python" -c "import ib_async, ibapi.client, sys; sys.exit(ib_async.__version__ != '$IB_ASYNC_VERSION')" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "ib_async==$IB_ASYNC_VERSION" "ibapi==$IBAPI_VERSION"
fi
timeout 120 "$VENV/bin/python" tests/clients/conformance.py "$BIN"
exec timeout 60 "$VENV/bin/python" tests/clients/official.py "$BIN"
