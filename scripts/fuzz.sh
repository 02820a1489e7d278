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
corpus camt fixtures/demo/*.xml fixtures/hostile/*.xml ../shared/samples/camt05*/*.xml
corpus mt940 fixtures/demo/*.sta fixtures/hostile/*.sta ../shared/samples/mt940/*.sta
corpus canonical_csv fixtures/demo/*.csv
corpus job_spec jobs/*.toml fixtures/demo/job.toml
corpus profiled_csv fixtures/demo/*.csv fixtures/hostile/*.csv fixtures/bank_csv/*.csv fixtures/orders/*.csv ../shared/samples/psp/*.csv
corpus ecb_rates fixtures/ecb/*
corpus parquet_profiles fixtures/parquet/*.parquet
corpus pain002 fixtures/pain002/*.xml ../shared/samples/pain002/*.xml
targets="${FUZZ_TARGETS:-camt mt940 canonical_csv profiled_csv pain002 job_spec ecb_rates parquet_profiles}"
mkdir -p fuzz/logs
# A crash, a panic, an input taking over 10 s (a hang) or a process over 2 GiB (an excessive
# allocation) stops the target with its input in fuzz/artifacts/<target>/ and fails this script.
for target in $targets; do
  echo "== fuzzing $target for ${seconds}s"
  if ! cargo fuzz run --sanitizer none "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 >"fuzz/logs/$target.log" 2>&1; then
    grep -E "panicked|ERROR|SUMMARY|Test unit written" "fuzz/logs/$target.log" | cut -c1-300 | head -20
    echo "fuzz: $target failed (log: fuzz/logs/$target.log); the input is in fuzz/artifacts/$target/"
    exit 1
  fi
  grep -E "^Done" "fuzz/logs/$target.log" || true
done
echo "== summary (target: executions in seconds, corpus files)"
for target in $targets; do
  echo "$target: $(grep -Eo '^Done [0-9]+ runs in [0-9]+ second' "fuzz/logs/$target.log" | tail -1) ($(ls "fuzz/corpus/$target" | wc -l) corpus files)"
done
