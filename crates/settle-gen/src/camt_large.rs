//! One large camt.053 statement, streamed: for the reader's benchmarks (150 MB, 500 000 entries).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use settle_core::{Currency, Date, Decimal, Direction, EntryStatus, Money, TransactionDetail};
use settle_iso20022 as camt;

use crate::{GenError, Rng};

const NAMES: [&str; 8] = [
    "NORDWIND LOGISTIK GMBH",
    "CAFE LUMIERE SARL",
    "Müller & Söhne Feinkost KG",
    "STRIPE PAYMENTS EUROPE LTD",
    "ADYEN N.V.",
    "Österreichische Post AG",
    "J. VAN DAM",
    "Blue Cedar Outfitters B.V.",
];

fn draw(rng: &mut Rng, i: usize, date: Date, eur: Currency) -> camt::Entry {
    let minor = rng.range(100, 2_500_000);
    let direction = if rng.chance(2, 3) { Direction::Credit } else { Direction::Debit };
    let amount = Money::from_minor_units(i128::from(minor), eur).expect("small");
    let name = NAMES[usize::try_from(rng.below(NAMES.len() as u64)).expect("small")];
    let reference = format!("E2E-{}-{}", date.strftime("%Y%m%d"), rng.hex(12));
    let remittance = format!("Invoice RF{} order {} {}", rng.digits(18), rng.digits(8), name);
    let counterparty_account = format!("DE{}{}", rng.digits(2), rng.digits(18));
    camt::Entry {
        index: i,
        entry_reference: None,
        amount,
        direction,
        reversal: false,
        status: EntryStatus::Booked,
        booking_date: Some(date),
        value_date: Some(date),
        account_servicer_reference: Some(format!("{}{:09}", date.strftime("%Y%m%d"), i)),
        bank_transaction_code: Some(
            if direction == Direction::Credit { "PMNT/RCDT/ESCT" } else { "PMNT/ICDT/ESCT" }.into(),
        ),
        batch_count: None,
        batch_total: None,
        charges: None,
        additional_info: None,
        details: vec![TransactionDetail {
            end_to_end_id: Some(reference.into()),
            more: Some(Box::new(settle_core::DetailMore {
                amount: Some(amount),
                direction: Some(direction),
                ..settle_core::DetailMore::default()
            })),
            debtor_name: (direction == Direction::Credit).then(|| name.into()),
            debtor_account: (direction == Direction::Credit).then(|| counterparty_account.as_str().into()),
            creditor_name: (direction == Direction::Debit).then(|| name.into()),
            creditor_account: (direction == Direction::Debit).then(|| counterparty_account.into()),
            remittance_info: Some(remittance.into()),
            ..TransactionDetail::default()
        }],
        xml_path: String::new(),
    }
}

/// Writes `path`: one camt.053.001.08 statement of `entries` entries for `date`, balanced, with its
/// transaction summary. Two passes over the same PRNG stream: the first sums (the head comes before the
/// entries), the second writes; memory does not grow with `entries`. Returns the bytes written.
pub fn write_large_camt053(path: &Path, entries: u64, seed: u64, date: Date) -> Result<u64, GenError> {
    let io = |source| GenError::Io { path: path.display().to_string(), source };
    let eur = Currency::from_code("EUR").expect("EUR");
    let stream = Rng::new(seed).fork(0xCA47);
    let count = usize::try_from(entries).map_err(|_| GenError::Invalid("--camt-entries is too large".into()))?;
    let (mut credits, mut debits, mut credit_count) = (Decimal::ZERO, Decimal::ZERO, 0u64);
    let mut rng = stream.clone();
    for i in 1..=count {
        let e = draw(&mut rng, i, date, eur);
        match e.direction {
            Direction::Credit => {
                credits += e.amount.amount();
                credit_count += 1;
            }
            Direction::Debit => debits += e.amount.amount(),
        }
    }
    let opening = Money::new(Decimal::new(125_000_000, 2), eur);
    let closing = Money::new(opening.amount() + credits - debits, eur);
    let head = camt::Statement {
        format: camt::MessageFormat { kind: camt::MessageKind::Camt053, version: 8 },
        message_id: None,
        message_created: None,
        message_page: None,
        statement_id: Some(format!("LARGE-{}", date.strftime("%Y%m%d"))),
        statement_page: None,
        electronic_sequence: Some("1".into()),
        legal_sequence: None,
        created: Some(format!("{date}T22:00:00+01:00")),
        from: Some(format!("{date}T00:00:00+01:00")),
        to: Some(format!("{date}T23:59:59+01:00")),
        account: Some("DE44500105175407324931".into()),
        account_currency: Some(eur),
        owner: Some("MARKETPLACE EUROPE GMBH".into()),
        servicer_bic: Some("INGDDEFFXXX".into()),
        balances: vec![
            camt::Balance { code: "OPBD".into(), amount: opening, date: Some(date) },
            camt::Balance { code: "CLBD".into(), amount: closing, date: Some(date) },
        ],
        summary: Some(camt::TxSummary {
            total_count: Some(entries),
            total_sum: Some(credits + debits),
            net: Some(credits - debits),
            credit_count: Some(credit_count),
            credit_sum: Some(credits),
            debit_count: Some(entries - credit_count),
            debit_sum: Some(debits),
        }),
        entries: Vec::new(),
        xml_path: String::new(),
        warnings: Vec::new(),
    };
    let file = File::create(path).map_err(io)?;
    let created = format!("{date}T23:00:00+01:00");
    let mut writer =
        camt::Camt053Writer::new(BufWriter::with_capacity(1 << 20, file), 8, "LARGE-1", &created).map_err(io)?;
    writer.start_statement(&head).map_err(io)?;
    let mut rng = stream;
    for i in 1..=count {
        writer.entry(&draw(&mut rng, i, date, eur)).map_err(io)?;
    }
    writer.end_statement().map_err(io)?;
    let file = writer.finish().map_err(io)?.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok(file.metadata().map_err(io)?.len())
}
