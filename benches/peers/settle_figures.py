"""The same figures as the peers write, read from a settle run directory (matches.csv, exceptions.csv).
Usage: settle_figures.py RUN_DIR FIGURES_JSON"""

import csv
import sys
from collections import defaultdict
from decimal import Decimal

from common import write_figures


def figures(run_dir: str) -> dict:
    stages = defaultdict(lambda: {"matches": 0, "matched_amount": defaultdict(Decimal), "exceptions": defaultdict(int)})
    with open(f"{run_dir}/matches.csv", newline="") as f:
        for row in csv.DictReader(f):
            stage = stages[row["stage"]]
            stage["matches"] += 1
            stage["matched_amount"][row["left_currency"]] += Decimal(row["left_amount"])
    with open(f"{run_dir}/exceptions.csv", newline="") as f:
        for row in csv.DictReader(f):
            stages[row["stage"]]["exceptions"][row["reason_code"]] += 1
    return {s: v for s, v in stages.items() if s in ("A", "B")}


if __name__ == "__main__":
    write_figures(sys.argv[2], figures(sys.argv[1]))
