//! A large MT940 file, streamed: for the reader's benchmark (about 100 MB).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use settle_core::{Currency, Date, Money};
use settle_mt940::{Entry, Mark, write_mt940};

use crate::{GenError, Rng};

const NAMES: [&str; 6] = [
    "NORDWIND LOGISTIK GMBH",
    "Mueller und Soehne KG",
    "STRIPE PAYMENTS",
    "ADYEN N.V.",
    "J. VAN DAM",
    "Stadtwerke Nord",
];

/// Writes `path`: German-bank style MT940 (GVC `:86:` with SEPA keywords), messages of 1 000 entries
/// each, chained balances. Returns the bytes written.
pub fn write_large_mt940(path: &Path, entries: u64, seed: u64, date: Date) -> Result<u64, GenError> {
    let io = |source| GenError::Io { path: path.display().to_string(), source };
    let eur = Currency::from_code("EUR").expect("EUR");
    let mut rng = Rng::new(seed).fork(0x940);
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io)?);
    let mut balance = Money::from_minor_units(100_000_000, eur).expect("small");
    let mut written = 0u64;
    let mut message = 0u64;
    while written < entries {
        message += 1;
        let n = (entries - written).min(1000);
        let batch: Vec<Entry> = (0..n)
            .map(|i| {
                let credit = rng.chance(2, 3);
                let amount = Money::from_minor_units(i128::from(rng.range(100, 2_500_000)), eur).expect("small");
                let name = NAMES[usize::try_from(rng.below(NAMES.len() as u64)).expect("small")];
                let info = format!(
                    "{}?00{}?20EREF+E2E{}?21SVWZ+RF{} Rechnung {}?30COBADEFFXXX?31DE{}{}?32{}",
                    if credit { "166" } else { "105" },
                    if credit { "SEPA-UEBERWEISUNG" } else { "SEPA-LASTSCHRIFT" },
                    rng.hex(12),
                    rng.digits(10),
                    rng.digits(8),
                    rng.digits(2),
                    rng.digits(18),
                    name
                );
                // SWIFT lines are at most 65 characters: wrap the :86: text as banks do.
                let wrapped: Vec<String> =
                    info.as_bytes().chunks(65).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
                Entry {
                    index: usize::try_from(i).expect("small") + 1,
                    line: 0,
                    value_date: date,
                    entry_date: Some(date),
                    mark: if credit { Mark::Credit } else { Mark::Debit },
                    funds_code: None,
                    amount,
                    transaction_type: "NTRF".into(),
                    customer_reference: "NONREF".into(),
                    bank_reference: Some(settle_core::format_compact!(
                        "{}{:09}",
                        date.strftime("%y%m%d"),
                        written + i + 1
                    )),
                    supplementary: None,
                    information: Some(wrapped.join("\n")),
                    details: Vec::new(),
                    information_code: None,
                }
            })
            .collect();
        let text = write_mt940(
            &format!("LARGE{message:06}"),
            "50010517/5407324931",
            &format!("{message:05}/001"),
            balance,
            date,
            &batch,
        );
        for e in &batch {
            let signed = if e.mark == Mark::Credit { e.amount } else { e.amount.neg() };
            balance = balance.checked_add(&signed).expect("small");
        }
        out.write_all(text.as_bytes()).map_err(io)?;
        written += n;
    }
    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok(file.metadata().map_err(io)?.len())
}
