"""The night's reconciliation as a polars script would write it (lazy frames, one collect per result);
same rules as peer_pandas.py. Usage: peer_polars.py DAY_DIR FIGURES_JSON"""

import sys
from pathlib import Path

import polars as pl

from common import bank_entries, day_files, write_figures

S = pl.String


def main(day: Path, out: str) -> None:
    files = day_files(day)
    orders = pl.scan_csv(files["orders"], schema_overrides={"order_id": S, "amount": pl.Float64, "currency": S}).select(
        "order_id", "amount", "currency"
    )
    stripe = pl.scan_csv(files["stripe"], infer_schema=False).select(
        pl.lit("stripe:").add(pl.col("balance_transaction_id")).alias("tx_id"),
        pl.col("reporting_category").replace_strict(
            {"charge": "charge", "refund": "refund", "dispute": "chargeback", "fee": "fee"}).alias("kind"),
        pl.coalesce(pl.col("payment_metadata[order_id]"), pl.col("refund_metadata[order_id]")).alias("order_ref"),
        pl.col("customer_facing_amount").cast(pl.Float64).fill_null(0).alias("amount"),
        pl.col("customer_facing_currency").str.to_uppercase().alias("currency"),
        pl.lit("stripe:").add(pl.col("automatic_payout_id")).alias("batch"),
        pl.col("net").cast(pl.Float64).alias("net"),
        pl.col("currency").str.to_uppercase().alias("net_currency"),
    )
    adyen_all = pl.scan_csv(files["adyen"], infer_schema=False)
    f = lambda c: pl.col(c).cast(pl.Float64).fill_null(0)  # noqa: E731
    payouts = adyen_all.filter(pl.col("Type") == "MerchantPayout").select(
        pl.lit("adyen:").add(pl.col("Batch Number")).alias("batch"), (f("Net Debit (NC)") - f("Net Credit (NC)")).alias("payout")
    )
    adyen = adyen_all.filter(pl.col("Type").is_in(["Settled", "Refunded", "Chargeback", "Fee"])).select(
        pl.lit("adyen:").add(pl.col("Modification Reference")).alias("tx_id"),
        pl.col("Type").replace_strict(
            {"Settled": "charge", "Refunded": "refund", "Chargeback": "chargeback", "Fee": "fee"}).alias("kind"),
        pl.col("Merchant Reference").alias("order_ref"),
        (f("Gross Credit (GC)") - f("Gross Debit (GC)")).alias("amount"),
        pl.col("Gross Currency").alias("currency"),
        pl.lit("adyen:").add(pl.col("Batch Number")).alias("batch"),
        (f("Net Credit (NC)") - f("Net Debit (NC)")).alias("net"),
        pl.col("Net Currency").alias("net_currency"),
    )
    channel = pl.concat([stripe, adyen]).with_row_index("row")
    # Duplicated rows (same transaction id) are rejected and count nowhere else.
    first = (pl.col("kind") == "fee") | pl.col("tx_id").is_first_distinct()
    kept = channel.filter(first)
    duplicates = channel.filter(~first).select(pl.len())
    transactions = kept.filter(pl.col("kind").is_in(["charge", "refund"]))
    chargebacks = kept.filter(pl.col("kind") == "chargeback").select(pl.len())

    joined = transactions.join(orders, how="left", left_on="order_ref", right_on="order_id", suffix="_order",
                               coalesce=False)
    found = pl.col("order_id").is_not_null()
    agree = found & (pl.col("amount") == pl.col("amount_order")) & (pl.col("currency") == pl.col("currency_order"))
    a_counts = joined.select(
        agree.sum().alias("matches"), (found & ~agree).sum().alias("amount_mismatch"), (~found).sum().alias("no_order")
    )
    a_amounts = joined.filter(agree).group_by("currency_order").agg(pl.col("amount_order").sum())
    untouched = orders.join(transactions.select("order_ref"), how="anti", left_on="order_id", right_on="order_ref")
    untouched = untouched.select(pl.len())

    batches = kept.group_by("batch", "net_currency").agg(pl.col("net").sum())
    bad_sums = batches.join(payouts, on="batch").filter((pl.col("net") - pl.col("payout")).abs() > 1e-6).select(pl.len())
    bank_columns = bank_entries(files)
    bank = pl.LazyFrame(bank_columns).select(
        pl.when(pl.col("reference").str.starts_with("po_")).then(pl.lit("stripe:")).otherwise(pl.lit("adyen:"))
        .add(pl.col("reference")).alias("batch"),
        pl.col("amount").cast(pl.Float64),
        pl.col("currency"),
    )
    b = batches.join(bank, on="batch", how="full", coalesce=False)
    both = pl.col("batch").is_not_null() & pl.col("batch_right").is_not_null()
    same = both & ((pl.col("net") - pl.col("amount")).abs() < 1e-6) & (pl.col("net_currency") == pl.col("currency"))
    b_counts = b.select(
        same.sum().alias("matches"),
        (both & ~same).sum().alias("amount_mismatch"),
        pl.col("batch_right").is_null().sum().alias("no_bank_credit"),
        pl.col("batch").is_null().sum().alias("no_payout_batch"),
    )
    b_amounts = b.filter(same).group_by("net_currency").agg(pl.col("net").sum())

    (dups, cbs, a_c, a_a, unt, bad, b_c, b_a) = pl.collect_all(
        [duplicates, chargebacks, a_counts, a_amounts, untouched, bad_sums, b_counts, b_amounts]
    )
    if bad.item() != 0:
        sys.exit("a batch's rows do not sum to its payout row")
    a_c, b_c = a_c.row(0, named=True), b_c.row(0, named=True)
    write_figures(out, {
        "A": {
            "matches": a_c["matches"],
            "matched_amount": dict(a_a.iter_rows()),
            "exceptions": {"amount_mismatch": a_c["amount_mismatch"], "no_order": a_c["no_order"],
                           "no_channel_transaction": unt.item(), "chargeback": cbs.item(),
                           "duplicate_channel_transaction": dups.item()},
        },
        "B": {
            "matches": b_c["matches"],
            "matched_amount": dict(b_a.iter_rows()),
            "exceptions": {k: b_c[k] for k in ("amount_mismatch", "no_bank_credit", "no_payout_batch")},
        },
    })


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
