"""Runs settle and each peer on the same generated days, checks that every peer finds the same match
counts, exception counts and matched totals as settle, then times each (wall, CPU, peak RSS of the one
process) and appends a table to benches/results/peers-<date>.md. Called by run.sh."""

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PEERS = ["duckdb", "polars", "pandas"]


def measure(cmd, log):
    """Runs cmd; returns (exit code, wall s, CPU s, peak RSS bytes) of that one child (wait4)."""
    start = time.monotonic()
    with open(log, "w") as err:
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - start
    return os.waitstatus_to_exitcode(status), wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def main():
    settle = str(ROOT / "target/release/settle")
    work = Path(os.environ.get("SETTLE_E2E_DIR", ROOT / "target/e2e"))
    repeat = int(os.environ.get("SETTLE_PEERS_REPEAT", "1"))
    peers = os.environ.get("SETTLE_PEERS", " ".join(PEERS)).split()
    sizes = [int(s) for s in sys.argv[1:]] or [100_000, 1_000_000]
    work.mkdir(parents=True, exist_ok=True)
    results = ROOT / "benches/results" / f"peers-{datetime.now(timezone.utc):%Y-%m-%d}.md"
    results.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    if not results.exists():
        lines += [f"# settle and its peers — {datetime.now(timezone.utc):%Y-%m-%d}", "",
                  "Written by `benches/peers/run.sh`. The same generated day, the same rules (exact order ids,",
                  "exact amounts, duplicates rejected, chargebacks as exceptions, batch sums checked against the",
                  "channel's payout row, batches ↔ bank credits by reference and amount); every peer's counts and",
                  "totals were checked equal to settle's before it was timed. `settle` = the whole `settle run`",
                  "(which also converts, pays, renders reports and Parquet, archives and writes a manifest);",
                  "`settle (parse + reconcile)` = the same work as the peers, by settle's own clock (its",
                  "`reconciled` log event, from the start of ingest). Ratio = wall time / settle's parse + reconcile.", ""]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    versions = subprocess.run([sys.executable, "-c", "import duckdb, polars, pandas; print('duckdb', duckdb.__version__, '· polars', polars.__version__, '· pandas', pandas.__version__)"], capture_output=True, text=True).stdout.strip()
    lines += [f"## {datetime.now(timezone.utc):%H:%M} UTC", "",
              f"- CPU: {cpu} × {os.cpu_count()}; {platform.system()} {platform.release()}; load at start {open('/proc/loadavg').read().split()[:3]}",
              f"- Python {platform.python_version()}; {versions}", "",
              "| orders | tool | wall s | CPU s | peak RSS GB | ratio to settle's parse + reconcile |", "|---:|---|---:|---:|---:|---:|"]
    for n in sizes:
        day = work / f"day-{n}"
        if not (day / "job.toml").exists():
            print(f"generating {n} orders into {day}…", file=sys.stderr)
            shutil.rmtree(day, ignore_errors=True)
            subprocess.run([settle, "gen", "--orders", str(n), "--merchant-accounts", str(max(1, n // 400)),
                            "--out", str(day)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for f in day.iterdir():
            with open(f, "rb") as data:  # inputs in the page cache for everyone
                while data.read(1 << 24):
                    pass
        out = work / f"peers-runs-{n}"
        timings = {}
        for r in range(repeat):
            shutil.rmtree(out, ignore_errors=True)
            cmd = [settle, "-v", "--log-format", "json", "run", str(day / "job.toml"), "--out", str(out)]
            code, wall, cpu_s, rss = measure(cmd, work / "settle.log")
            if code not in (0, 1):
                sys.exit(f"settle run exited {code} on {n} orders (see {work / 'settle.log'})")
            timings.setdefault("settle", []).append((wall, cpu_s, rss))
            # The same work as the peers (read and parse every input, reconcile): settle's own clock at
            # its `reconciled` event, counted from the start of ingest.
            reconciled = [json.loads(l) for l in open(work / "settle.log") if '"reconciled"' in l]
            if reconciled:
                timings.setdefault("settle (parse + reconcile)", []).append((reconciled[-1]["elapsed_ms"] / 1000, None, None))
        expected = work / f"figures-settle-{n}.json"
        subprocess.run([sys.executable, str(HERE / "settle_figures.py"), str(out / "gen/2026-10-31"), str(expected)], check=True)
        shutil.rmtree(out, ignore_errors=True)
        for peer in peers:
            got = work / f"figures-{peer}-{n}.json"
            cmd = [sys.executable, str(HERE / f"peer_{peer}.py"), str(day), str(got)]
            print(f"{peer}: checking on {n} orders…", file=sys.stderr)
            code, *_ = measure(cmd, work / f"{peer}.log")
            if code != 0:
                sys.exit(f"{peer} failed on {n} orders (exit {code}, see {work / (peer + '.log')})")
            if json.loads(got.read_text()) != json.loads(expected.read_text()):
                sys.exit(f"{peer} does not agree with settle on {n} orders: compare {got} with {expected}")
            for r in range(repeat):
                print(f"{peer}: timing on {n} orders ({r + 1}/{repeat})…", file=sys.stderr)
                code, wall, cpu_s, rss = measure(cmd, work / f"{peer}.log")
                timings.setdefault(peer, []).append((wall, cpu_s, rss))
        best = {tool: min(runs, key=lambda r: r[0]) for tool, runs in timings.items()}
        base = best.get("settle (parse + reconcile)", best["settle"])[0]
        for tool, (wall, cpu_s, rss) in best.items():
            cpu_text = "" if cpu_s is None else f"{cpu_s:.2f}"
            rss_text = "" if rss is None else f"{rss / 2**30:.2f}"
            ratio = f"{wall / base:.2f}"
            lines.append(f"| {n:,} | {tool} | {wall:.2f} | {cpu_text} | {rss_text} | {ratio} |".replace(",", " "))
    lines += [f"", f"Fastest of {repeat} timed run(s) per tool; load at end {open('/proc/loadavg').read().split()[:3]}.", ""]
    with open(results, "a") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines), file=sys.stderr)
    print(f"results: {results}", file=sys.stderr)


if __name__ == "__main__":
    main()
