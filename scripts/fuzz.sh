#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 60), seeded from fixtures/ and ../shared/samples/.
# Needs cargo-fuzz (`cargo install cargo-fuzz`). cargo-fuzz wants a nightly compiler; on a stable-only
# machine RUSTC_BOOTSTRAP=1 lets stable rustc accept the sanitizer flags.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
export RUSTC_BOOTSTRAP="${RUSTC_BOOTSTRAP:-1}"
corpus() {
  local target="$1"; shift
  mkdir -p "fuzz/corpus/$target"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "fuzz/corpus/$target/" || true; done
}
corpus camt fixtures/demo/*.xml ../shared/samples/camt05*/*.xml
corpus mt940 fixtures/demo/*.sta ../shared/samples/mt940/*.sta
corpus canonical_csv fixtures/demo/*.csv
corpus job_spec jobs/*.toml fixtures/demo/job.toml
corpus profiled_csv fixtures/demo/*.csv fixtures/bank_csv/*.csv fixtures/orders/*.csv ../shared/samples/psp/*.csv
corpus ecb_rates fixtures/ecb/*
corpus parquet_profiles fixtures/parquet/*.parquet
for target in camt mt940 canonical_csv profiled_csv job_spec ecb_rates parquet_profiles; do
  echo "== fuzzing $target for ${seconds}s"
  cargo fuzz run --sanitizer none "$target" "fuzz/corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=2048
done
