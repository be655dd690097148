#!/usr/bin/env bash
# Runs the ib_async conformance script against the built simulator. Creates (once) a venv in
# target/ with the pinned ib_async from PyPI. Usage: tests/clients/run.sh [path/to/ibkr-cockpit]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${1:-target/debug/ibkr-cockpit}"
VENV=target/conformance-venv
IB_ASYNC_VERSION=2.1.0
if [ ! -x "$BIN" ]; then
  echo "conformance: $BIN not found; build it first (cargo build)" >&2
  exit 1
fi
if ! "$VENV/bin/python" -c "import ib_async, sys; sys.exit(ib_async.__version__ != '$IB_ASYNC_VERSION')" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "ib_async==$IB_ASYNC_VERSION"
fi
exec timeout 120 "$VENV/bin/python" tests/clients/conformance.py "$BIN"
