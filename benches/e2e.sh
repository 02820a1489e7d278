#!/usr/bin/env bash
# End-to-end benchmark: `settle run` on generated days of 10^5, 10^6 and 10^7 orders (channel reports in
# Stripe's and Adyen's own layouts, camt.053 and MT940 statements), recording wall time, CPU time, peak
# resident memory and rows/s per core into a dated results file with the machine's description.
#
#   bash benches/e2e.sh                      # 100000 1000000 10000000
#   bash benches/e2e.sh 100000 1000000       # chosen sizes
#   SETTLE_E2E_DIR=/big/disk bash benches/e2e.sh
#   SETTLE_E2E_PARTITIONS=4 bash benches/e2e.sh 1000000   # also as 4 partitions and a merge
#
# Each day is generated once (kept in $SETTLE_E2E_DIR/day-N, reused when its job.toml exists), run
# SETTLE_E2E_REPEAT times (default 1) into a fresh output directory each time, and scored against its
# truth.csv: a run that does not score 100 % fails the benchmark, so a fast wrong answer cannot be
# reported. Needs python3 (for getrusage of the child: peak RSS and CPU time without GNU time).
# With SETTLE_E2E_PARTITIONS=N each day is also run as N partitions one after the other (`settle run
# --partition I/N`) and merged (`settle merge`): the slowest partition, all partitions' CPU and the merge
# are recorded, and the merged OUT must be byte for byte the whole run's or the benchmark fails.
# Results: benches/results/e2e-<date>.md (appended to when run again the same day).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000 10000000)
work=${SETTLE_E2E_DIR:-$root/target/e2e}
repeat=${SETTLE_E2E_REPEAT:-1}
partitions=${SETTLE_E2E_PARTITIONS:-0}
partitioned_rows=()
mkdir -p "$work" "$root/benches/results"
results="$root/benches/results/e2e-$(date -u +%Y-%m-%d).md"

command -v python3 >/dev/null || { echo "error: benches/e2e.sh needs python3 (to measure the child's peak RSS and CPU time)" >&2; exit 2; }

echo "building settle (release)…" >&2
cargo build --release --quiet
settle="$root/target/release/settle"

# measure OUT_JSON CMD...: runs CMD, writes {"wall_s","user_s","sys_s","max_rss_kb","exit"} to OUT_JSON.
measure() {
  local out=$1
  shift
  python3 - "$out" "$@" <<'PY'
import json, resource, subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
start = time.monotonic()
code = subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=open(out + ".log", "w"))
wall = time.monotonic() - start
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
json.dump({"wall_s": wall, "user_s": ru.ru_utime, "sys_s": ru.ru_stime, "max_rss_kb": ru.ru_maxrss, "exit": code}, open(out, "w"))
PY
}

field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

if [ ! -s "$results" ]; then
  {
    echo "# settle run, end to end — $(date -u +%Y-%m-%d)"
    echo
    echo "Written by \`benches/e2e.sh\`. Each row: \`settle gen --orders N --merchant-accounts N/400\` (seed 1), then"
    echo "\`settle run\` on it (parse, match, convert, pay, render, archive, write), scored 100 % against truth.csv."
    echo "Rows = orders + channel report rows + bank entries. Per core = rows / CPU seconds (user + sys)."
    echo
  } >"$results"
fi
{
  echo "## Machine, $(date -u +%H:%M) UTC"
  echo
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') × $(nproc) ($(nproc) threads available)"
  echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); kernel $(uname -sr)"
  echo "- $(rustc --version); settle $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (uncommitted changes)')"
  echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| orders | rows | input MB | wall s | CPU s | peak RSS GB | rows/s | rows/s per core | load after |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|"
} >>"$results"

for n in "${sizes[@]}"; do
  day="$work/day-$n"
  accounts=$(( n / 400 > 0 ? n / 400 : 1 ))
  if [ ! -s "$day/job.toml" ]; then
    echo "generating $n orders into $day…" >&2
    rm -rf "$day"
    "$settle" gen --orders "$n" --merchant-accounts "$accounts" --out "$day" >/dev/null 2>"$work/gen-$n.log"
  fi
  input_bytes=$(find "$day" -maxdepth 1 -type f ! -name truth.csv ! -name job.toml -printf '%s\n' | awk '{s+=$1} END {printf "%.0f\n", s}')
  # Rows of the inputs a run reads: CSV lines less headers, plus bank entries.
  orders=$(($(wc -l <"$day/orders.csv") - 1))
  channel_rows=0
  for f in "$day"/stripe_*.csv "$day"/adyen_*.csv; do
    channel_rows=$((channel_rows + $(wc -l <"$f") - 1))
  done
  bank_entries=$(( $(grep -c '<Ntry>' "$day"/bank_statement_*.xml || true) + $(grep -c '^:61:' "$day"/bank_statement_*.sta || true) ))
  rows=$((orders + channel_rows + bank_entries))
  for ((r = 1; r <= repeat; r++)); do
    out="$work/runs-$n"
    rm -rf "$out"
    echo "settle run: $n orders ($rows rows), repetition $r of $repeat…" >&2
    cat "$day"/* >/dev/null # inputs in the page cache, as after the generator: disk speed is not measured
    measure "$work/m.json" "$settle" -q run "$day/job.toml" --out "$out"
    code=$(field "$work/m.json" exit)
    if [ "$code" != 0 ] && [ "$code" != 1 ]; then
      echo "| $n | $rows | $((input_bytes / 1000000)) | failed: exit $code | | $(field "$work/m.json" max_rss_kb | awk '{printf "%.2f", $1/1048576}') | | | $(cut -d' ' -f1-3 /proc/loadavg) |" >>"$results"
      echo "error: settle run on $n orders exited $code (see $work/m.json.log)" >&2
      continue
    fi
    "$settle" score "$out/gen/2026-10-31" "$day/truth.csv" >"$work/score-$n.txt" || {
      echo "error: the run of $n orders does not score 100 % against truth.csv (see $work/score-$n.txt)" >&2
      exit 1
    }
    python3 - "$work/m.json" "$n" "$rows" "$input_bytes" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$results" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
n, rows, size, load = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
cpu = m["user_s"] + m["sys_s"]
print(f"| {n:,} | {rows:,} | {size / 1e6:,.0f} | {m['wall_s']:.1f} | {cpu:.1f} | {m['max_rss_kb'] / 1048576:.2f} "
      f"| {rows / m['wall_s']:,.0f} | {rows / cpu:,.0f} | {load} |".replace(",", " "))
PY
    if [ "$partitions" -gt 0 ]; then
      parts="$work/parts-$n"
      rm -rf "$parts"
      slowest=0 slowest_rss=0 cpu_sum=0
      for ((i = 0; i < partitions; i++)); do
        echo "settle run --partition $i/$partitions: $n orders…" >&2
        measure "$work/p.json" "$settle" -q run "$day/job.toml" --out "$parts" --partition "$i/$partitions"
        [ "$(field "$work/p.json" exit)" = 0 ] || { echo "error: partition $i/$partitions exited $(field "$work/p.json" exit) (see $work/p.json.log)" >&2; exit 1; }
        read -r wall rss cpu < <(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(m['wall_s'], m['max_rss_kb'], m['user_s']+m['sys_s'])" "$work/p.json")
        slowest=$(python3 -c "print(max($slowest, $wall))"); slowest_rss=$(python3 -c "print(max($slowest_rss, $rss))"); cpu_sum=$(python3 -c "print($cpu_sum + $cpu)")
      done
      echo "settle merge: $n orders…" >&2
      measure "$work/mg.json" "$settle" -q merge "$day/job.toml" --out "$parts"
      code=$(field "$work/mg.json" exit)
      [ "$code" = 0 ] || [ "$code" = 1 ] || { echo "error: settle merge exited $code (see $work/mg.json.log)" >&2; exit 1; }
      if ! diff -r -q -x .partitions "$out" "$parts" >"$work/diff-$n.txt"; then
        echo "error: the merged night differs from the whole run (see $work/diff-$n.txt)" >&2
        exit 1
      fi
      partitioned_rows+=("$(python3 - "$work/mg.json" "$n" "$partitions" "$slowest" "$slowest_rss" "$cpu_sum" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
n, parts, slowest, rss, cpu, load = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(float(sys.argv[5])), float(sys.argv[6]), sys.argv[7]
print(f"| {n:,} | {parts} | {slowest:.1f} | {rss / 1048576:.2f} | {cpu:.1f} | {m['wall_s']:.1f} | {m['max_rss_kb'] / 1048576:.2f} "
      f"| {m['user_s'] + m['sys_s']:.1f} | identical | {load} |".replace(",", " "))
PY
)")
      rm -rf "$parts"
    fi
    rm -rf "$out"
  done
done
if [ ${#partitioned_rows[@]} -gt 0 ]; then
  {
    echo
    echo "Partitioned: the partitions one after the other on this machine, then the merge; the merged OUT"
    echo "compared byte for byte with the whole run's."
    echo
    echo "| orders | partitions | slowest partition s | largest partition peak RSS GB | all partitions' CPU s | merge wall s | merge peak RSS GB | merge CPU s | merged vs whole | load after |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
    printf '%s\n' "${partitioned_rows[@]}"
  } >>"$results"
fi
echo >>"$results"
echo "results: $results" >&2
tail -n $(( ${#sizes[@]} * repeat + 2 + (${#partitioned_rows[@]} > 0 ? ${#partitioned_rows[@]} + 6 : 0) )) "$results" >&2
