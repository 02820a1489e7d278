//! A large Adyen settlement details report, streamed: for the profile reader's benchmark (about 200 MB).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use settle_core::{Date, Decimal, format_minor};

use crate::{ADYEN_COLUMNS, GenError, Rng};

/// Rows per settlement batch; each batch ends with its `MerchantPayout` row.
const BATCH_ROWS: u64 = 10_000;

/// Writes `path`: `rows` Settled/Refunded rows in USD (card payments in USD, EUR and GBP at stated
/// rates, Interchange++ or blended fees), batches of 10 000 rows each closed by its payout row.
/// Returns the bytes written. Every row satisfies Adyen's invariants, so the reader's checks pass.
pub fn write_large_adyen(path: &Path, rows: u64, seed: u64, date: Date) -> Result<u64, GenError> {
    let io = |source| GenError::Io { path: path.display().to_string(), source };
    let mut rng = Rng::new(seed).fork(0xAD7E);
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io)?);
    let mut written = 0u64;
    let mut line = String::with_capacity(512);
    line.push_str(&ADYEN_COLUMNS.join(","));
    line.push('\n');
    let usd = settle_core::Currency::from_code("USD").expect("USD");
    let (mut batch_net_minor, mut batch_rows, mut batch) = (0i128, 0u64, 4_000u64);
    let time = format!("{date} 10:00:00");
    for i in 0..rows {
        let (currency, rate) = match rng.below(10) {
            0..=5 => ("USD", Decimal::ONE),
            6..=8 => ("EUR", Decimal::new(10649652, 7)),
            _ => ("GBP", Decimal::new(12713, 4)),
        };
        let refund = rng.chance(1, 50);
        let presented_minor = i128::from(rng.range(500, 250_000));
        let presented = Decimal::from_i128_with_scale(presented_minor, 2);
        let gross = (presented * rate).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven);
        let gross_minor = gross.mantissa() * if gross.scale() == 2 { 1 } else { 10i128.pow(2 - gross.scale()) };
        let (commission, markup, scheme, interchange) = if rng.chance(1, 3) {
            (gross_minor / 100, 0, 0, 0)
        } else {
            (0, gross_minor / 500, gross_minor / 1000 + 1, gross_minor * 3 / 1000)
        };
        let fee_minor = commission + markup + scheme + interchange;
        let net_minor = if refund { -gross_minor - fee_minor } else { gross_minor - fee_minor };
        let money = |minor: i128| format_minor(Decimal::from_i128_with_scale(minor, 2), usd);
        let opt = |minor: i128| if minor == 0 { String::new() } else { money(minor) };
        let psp = rng.digits(16);
        let modification = rng.digits(16);
        let order = format!("ORD-{}", 1_000_000 + i);
        let (gross_debit, gross_credit) = if refund {
            (format_minor(presented, usd), String::new())
        } else {
            (String::new(), format_minor(presented, usd))
        };
        let (net_debit, net_credit) =
            if net_minor < 0 { (money(-net_minor), String::new()) } else { (String::new(), money(net_minor)) };
        line.push_str(&format!(
            "CompanyNL,Bench_USD,{psp},{order},visa,{time},CET,{},{modification},{currency},{gross_debit},{gross_credit},{rate},USD,{net_debit},{net_credit},{},{},{},{},visastandardcredit,{batch},,,,,,,,{},{time},CET\n",
            if refund { "Refunded" } else { "Settled" },
            opt(commission),
            opt(markup),
            opt(scheme),
            opt(interchange),
            if refund { order.as_str() } else { "<auto>" },
        ));
        batch_net_minor += net_minor;
        batch_rows += 1;
        if batch_rows == BATCH_ROWS || i + 1 == rows {
            line.push_str(&format!(
                "CompanyNL,Bench_USD,,,,{time},CET,MerchantPayout,\"TX{batch}XT batch {batch}, Bench_USD\",,,,,USD,{},{},,,,,,{batch},,,,,,,,,{time},CET\n",
                if batch_net_minor >= 0 { money(batch_net_minor) } else { String::new() },
                if batch_net_minor < 0 { money(-batch_net_minor) } else { String::new() },
            ));
            batch += 1;
            batch_net_minor = 0;
            batch_rows = 0;
        }
        if line.len() > 1 << 16 {
            out.write_all(line.as_bytes()).map_err(io)?;
            written += line.len() as u64;
            line.clear();
        }
    }
    out.write_all(line.as_bytes()).map_err(io)?;
    written += line.len() as u64;
    out.flush().map_err(io)?;
    Ok(written)
}
