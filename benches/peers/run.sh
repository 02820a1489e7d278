#!/usr/bin/env bash
# settle against the tools teams use instead: the same reconciliation in DuckDB SQL, polars and pandas,
# on the same generated days. Every peer must find settle's match counts, exception counts and matched
# totals before it is timed.
#
#   bash benches/peers/run.sh                    # 100000 and 1000000 orders
#   bash benches/peers/run.sh 10000000           # chosen sizes (10^7: pandas needs ≈ 10 GB and minutes)
#   SETTLE_PEERS="duckdb polars" SETTLE_PEERS_REPEAT=3 bash benches/peers/run.sh 1000000
#
# Python dependencies (requirements.txt, pinned) go into a virtual environment, target/peers-venv unless
# SETTLE_PEERS_VENV says otherwise. Days are shared with benches/e2e.sh ($SETTLE_E2E_DIR, default
# target/e2e). Results: benches/results/peers-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${SETTLE_PEERS_VENV:-target/peers-venv}
command -v python3 >/dev/null || { echo "error: benches/peers/run.sh needs python3 (3.9 or later) with venv" >&2; exit 2; }
if [ ! -x "$venv/bin/python" ] || ! cmp -s benches/peers/requirements.txt "$venv/requirements.txt"; then
  echo "installing the peers' Python dependencies into $venv…" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r benches/peers/requirements.txt
  cp benches/peers/requirements.txt "$venv/requirements.txt"
fi
echo "building settle (release)…" >&2
cargo build --release --quiet
exec "$venv/bin/python" benches/peers/driver.py "$@"
