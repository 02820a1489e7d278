"""The night's reconciliation as a pandas script would write it: stage A (orders ↔ channel transactions by
order id, exact amount in the presentment currency, duplicates rejected, chargebacks as exceptions) and
stage B (payout batches, checked against the channel's payout row, ↔ bank credits by reference and amount).
Usage: peer_pandas.py DAY_DIR FIGURES_JSON"""

import sys
from pathlib import Path

import pandas as pd

from common import bank_entries, day_files, write_figures


def main(day: Path, out: str) -> None:
    files = day_files(day)
    orders = pd.read_csv(files["orders"], usecols=["order_id", "amount", "currency"], dtype={"order_id": str, "currency": str})

    stripe = pd.read_csv(
        files["stripe"],
        usecols=["automatic_payout_id", "balance_transaction_id", "currency", "net", "reporting_category",
                 "customer_facing_amount", "customer_facing_currency", "payment_metadata[order_id]",
                 "refund_metadata[order_id]"],
        dtype=str, keep_default_na=False,
    )
    stripe = pd.DataFrame({
        "tx_id": "stripe:" + stripe["balance_transaction_id"],
        "kind": stripe["reporting_category"].map({"charge": "charge", "refund": "refund", "dispute": "chargeback", "fee": "fee"}),
        "order_ref": stripe["payment_metadata[order_id]"].where(stripe["payment_metadata[order_id]"] != "", stripe["refund_metadata[order_id]"]),
        "amount": pd.to_numeric(stripe["customer_facing_amount"].replace("", "0")),
        "currency": stripe["customer_facing_currency"].str.upper(),
        "batch": "stripe:" + stripe["automatic_payout_id"],
        "net": pd.to_numeric(stripe["net"]),
        "net_currency": stripe["currency"].str.upper(),
    })

    adyen = pd.read_csv(
        files["adyen"],
        usecols=["Merchant Reference", "Type", "Modification Reference", "Gross Currency", "Gross Debit (GC)",
                 "Gross Credit (GC)", "Net Currency", "Net Debit (NC)", "Net Credit (NC)", "Batch Number"],
        dtype={"Merchant Reference": str, "Modification Reference": str, "Batch Number": str},
    )
    payout_rows = adyen[adyen["Type"] == "MerchantPayout"]
    adyen = adyen[adyen["Type"].isin(["Settled", "Refunded", "Chargeback", "Fee"])]
    adyen = pd.DataFrame({
        "tx_id": "adyen:" + adyen["Modification Reference"],
        "kind": adyen["Type"].map({"Settled": "charge", "Refunded": "refund", "Chargeback": "chargeback", "Fee": "fee"}),
        "order_ref": adyen["Merchant Reference"],
        "amount": adyen["Gross Credit (GC)"].fillna(0) - adyen["Gross Debit (GC)"].fillna(0),
        "currency": adyen["Gross Currency"],
        "batch": "adyen:" + adyen["Batch Number"],
        "net": adyen["Net Credit (NC)"].fillna(0) - adyen["Net Debit (NC)"].fillna(0),
        "net_currency": adyen["Net Currency"],
    })
    channel = pd.concat([stripe, adyen], ignore_index=True)

    # Duplicated rows (same transaction id) are rejected and count nowhere else.
    rows = channel[channel["kind"] != "fee"]
    duplicate = rows["tx_id"].duplicated(keep="first")
    duplicates = int(duplicate.sum())
    channel = channel.drop(index=rows.index[duplicate])
    transactions = channel[channel["kind"].isin(["charge", "refund"])]
    chargebacks = int((channel["kind"] == "chargeback").sum())

    joined = transactions.merge(orders, how="left", left_on="order_ref", right_on="order_id", suffixes=("", "_order"), indicator=True)
    found = joined["_merge"] == "both"
    agree = found & (joined["amount"] == joined["amount_order"]) & (joined["currency"] == joined["currency_order"])
    matched = joined[agree]
    touched = orders["order_id"].isin(transactions["order_ref"])
    a = {
        "matches": len(matched),
        "matched_amount": matched.groupby("currency_order")["amount_order"].sum().to_dict(),
        "exceptions": {
            "amount_mismatch": int((found & ~agree).sum()),
            "no_order": int((~found).sum()),
            "no_channel_transaction": int((~touched).sum()),
            "chargeback": chargebacks,
            "duplicate_channel_transaction": duplicates,
        },
    }

    # Stage B: a batch is the net of its rows; Adyen's payout row must equal it.
    batches = channel.groupby(["batch", "net_currency"], as_index=False)["net"].sum()
    payouts = pd.DataFrame({"batch": "adyen:" + payout_rows["Batch Number"], "payout": payout_rows["Net Debit (NC)"].fillna(0) - payout_rows["Net Credit (NC)"].fillna(0)})
    checked = batches.merge(payouts, on="batch")
    if ((checked["net"] - checked["payout"]).abs() > 1e-6).any():
        sys.exit("a batch's rows do not sum to its payout row")
    bank = pd.DataFrame(bank_entries(files))
    bank["amount"] = pd.to_numeric(bank["amount"])
    bank["batch"] = bank["reference"].map(lambda r: ("stripe:" if r.startswith("po_") else "adyen:") + r)
    b = batches.merge(bank, how="outer", on="batch", indicator=True)
    both = b["_merge"] == "both"
    same = both & ((b["net"] - b["amount"]).abs() < 1e-6) & (b["net_currency"] == b["currency"])
    b_matched = b[same]
    stage_b = {
        "matches": len(b_matched),
        "matched_amount": b_matched.groupby("net_currency")["net"].sum().to_dict(),
        "exceptions": {
            "amount_mismatch": int((both & ~same).sum()),
            "no_bank_credit": int((b["_merge"] == "left_only").sum()),
            "no_payout_batch": int((b["_merge"] == "right_only").sum()),
        },
    }
    write_figures(out, {"A": a, "B": stage_b})


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
