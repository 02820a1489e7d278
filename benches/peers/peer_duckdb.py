"""Runs peer_duckdb.sql on a generated day (in memory, all threads) and writes its figures.
Usage: peer_duckdb.py DAY_DIR FIGURES_JSON"""

import sys
from pathlib import Path

import duckdb
import pyarrow as pa

from common import bank_entries, day_files, write_figures


def main(day: Path, out: str) -> None:
    files = day_files(day)
    con = duckdb.connect()
    bank = pa.table(bank_entries(files))
    con.execute("CREATE TABLE bank AS SELECT * FROM bank")
    sql = (Path(__file__).parent / "peer_duckdb.sql").read_text()
    con.execute(sql.format(orders=files["orders"], stripe=files["stripe"], adyen=files["adyen"]))
    if con.execute("SELECT n FROM bad_sums").fetchone()[0] != 0:
        sys.exit("a batch's rows do not sum to its payout row")

    def row(table):
        cursor = con.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchone()))

    def amounts(table):
        return dict(con.execute(f"SELECT currency, amount FROM {table}").fetchall())

    a, b = row("a_figures"), row("b_figures")
    write_figures(out, {
        "A": {"matches": a.pop("matches"), "matched_amount": amounts("a_amounts"), "exceptions": a},
        "B": {"matches": b.pop("matches"), "matched_amount": amounts("b_amounts"), "exceptions": b},
    })


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
