"""What every peer shares: the generated day's file names, the bank statement readers (camt.053 and
MT940 are not tabular, so each peer reads them with the same plain Python before its own engine takes
over: the time is the peer's), and the figures every peer and settle must agree on."""

import json
import re
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

# Minor units of the generated day's currencies (ISO 4217): totals are compared at this precision.
MINOR_UNITS = {"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "SEK": 2, "JPY": 0, "KWD": 3}


def day_files(day: Path) -> dict:
    """The inputs of a day written by `settle gen` (its job.toml lists the same)."""
    return {
        "orders": day / "orders.csv",
        "stripe": day / "stripe_payout_reconciliation.csv",
        "adyen": day / "adyen_settlement_details.csv",
        "camt": sorted(day.glob("bank_statement_*.xml")),
        "mt940": sorted(day.glob("bank_statement_*.sta")),
    }


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_camt(path: Path, out: dict) -> None:
    """Appends the entries of a camt.053 file: reference = the first EndToEndId, signed amount."""
    for _, element in ET.iterparse(path, events=("end",)):
        if _local(element.tag) != "Ntry":
            continue
        amount = currency = sign = reference = None
        for child in element:
            name = _local(child.tag)
            if name == "Amt":
                amount, currency = child.text, child.get("Ccy")
            elif name == "CdtDbtInd":
                sign = child.text
        for node in element.iter():
            if _local(node.tag) == "EndToEndId":
                reference = node.text
                break
        out["reference"].append(reference or "")
        out["amount"].append(amount if sign == "CRDT" else "-" + amount)
        out["currency"].append(currency)
        element.clear()


_LINE_61 = re.compile(r"^:61:(\d{6})(\d{4})?(R?[CD])[A-Z]?(\d+,\d*)[A-Z]\w{3}(.*?)(?://(.*))?$")


def read_mt940(path: Path, out: dict) -> None:
    """Appends the `:61:` entries of an MT940 file: reference = the customer reference, currency from
    the opening balance of its message."""
    currency = None
    with open(path, encoding="latin-1") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if line.startswith((":60F:", ":60M:")):
                currency = line[12:15]
            elif line.startswith(":61:"):
                m = _LINE_61.match(line)
                if not m:
                    sys.exit(f"{path}: not a :61: line: {line}")
                amount = m.group(4).replace(",", ".")
                if amount.endswith("."):
                    amount += "0"
                out["reference"].append(m.group(5))
                out["amount"].append(amount if m.group(3) in ("C", "RD") else "-" + amount)
                out["currency"].append(currency)


def bank_entries(files: dict) -> dict:
    """Every bank entry of the day as columns of strings (reference, amount, currency)."""
    out = {"reference": [], "amount": [], "currency": []}
    for path in files["camt"]:
        read_camt(path, out)
    for path in files["mt940"]:
        read_mt940(path, out)
    return out


def figure(amount, currency: str) -> str:
    """An amount at its currency's minor units, as text."""
    exponent = Decimal(1).scaleb(-MINOR_UNITS[currency])
    return str(Decimal(str(amount)).quantize(exponent))


def write_figures(path: str, stages: dict) -> None:
    """stages: {"A": {"matches": n, "matched_amount": {ccy: amount}, "exceptions": {reason: n}}, "B": …}"""
    out = {}
    for stage, f in sorted(stages.items()):
        out[stage] = {
            "matches": int(f["matches"]),
            "matched_amount": {c: figure(a, c) for c, a in sorted(f["matched_amount"].items())},
            "exceptions": {r: int(n) for r, n in sorted(f["exceptions"].items()) if int(n) > 0},
        }
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
