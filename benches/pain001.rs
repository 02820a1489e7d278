//! Criterion benchmark of the pain.001 writer: a file of `SETTLE_BENCH_PAIN001_TRANSFERS` credit
//! transfers (default 1 000 000) in three payment batches, SEPA Latin character set (every tenth name has
//! letters to transliterate), written to a sink that only counts bytes: the writer hands its output over
//! in 64 KiB pieces, so its memory does not grow with the file.
//!
//! Run: `cargo bench --bench pain001`. Throughput is bytes of XML per second on one core. Every iteration
//! asserts the transfer count, the control sum and the byte count of the first write.
// MB for the report line only; no money is computed in floats.
#![allow(clippy::float_arithmetic)]

/// The allocator the `settle` binary uses, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use settle_core::{Currency, Decimal, Money, parse_date};
use settle_iso20022::pain001::*;

fn transfers() -> u64 {
    std::env::var("SETTLE_BENCH_PAIN001_TRANSFERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

/// Counts what it is given.
struct Counter(u64);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn document(n: u64) -> (Pain001, Decimal) {
    let eur = Currency::from_code("EUR").expect("EUR");
    let debtor = Party {
        name: "Marketplace Europe GmbH".into(),
        address: Some(PostalAddress {
            street: Some("Friedrichstrasse".into()),
            building_number: Some("68".into()),
            post_code: Some("10117".into()),
            town: Some("Berlin".into()),
            country: "DE".into(),
        }),
    };
    let mut total = Decimal::ZERO;
    let mut batches = Vec::new();
    for b in 0..3u64 {
        let count = n / 3 + u64::from(b < n % 3);
        let transfers = (0..count)
            .map(|i| {
                let k = b * n + i;
                let amount = Money::new(Decimal::new(i64::try_from(1_000 + k % 500_000).expect("small"), 2), eur);
                total += amount.amount();
                CreditTransfer {
                    instruction_id: None,
                    end_to_end_id: format!("PO20261031-{k:012X}"),
                    amount,
                    charge_bearer: None,
                    creditor_agent: Some(Agent { bic: Some("COBADEFFXXX".into()), clearing: None }),
                    creditor: Party {
                        name: if k.is_multiple_of(10) {
                            format!("Müller & Söhne {k}")
                        } else {
                            format!("Seller {k} GmbH")
                        },
                        address: None,
                    },
                    creditor_account: Account::Iban("DE02120300000000202051".into()),
                    purpose: None,
                    regulatory_code: None,
                    remittance: Some(format!("Payout 2026-10-31 PO20261031-{k:012X}")),
                }
            })
            .collect();
        batches.push(PaymentBatch {
            payment_info_id: format!("S86AE24A1-20261031-EUR-1-{}", b + 1),
            batch_booking: Some(true),
            service_level: Some("SEPA".into()),
            execution_date: parse_date("2026-11-02").expect("date"),
            debtor: debtor.clone(),
            debtor_account: Account::Iban("DE89370400440532013000".into()),
            debtor_account_currency: Some(eur),
            debtor_agent: Agent { bic: Some("COBADEFFXXX".into()), clearing: None },
            charge_bearer: Some(ChargeBearer::ServiceLevel),
            transfers,
        });
    }
    let doc = Pain001 {
        version: Pain001Version::V09,
        message_id: "S86AE24A1-20261031-EUR-1".into(),
        created: "2026-10-31T23:59:59Z".into(),
        initiating_party: Party { name: "Marketplace Europe GmbH".into(), address: None },
        batches,
    };
    (doc, total)
}

fn benches(c: &mut Criterion) {
    let n = transfers();
    let (doc, total) = document(n);
    let mut counter = Counter(0);
    let summary = write_pain001_to(&doc, Charset::SepaLatin, &mut counter).expect("write");
    assert_eq!((summary.transactions, summary.control_sum), (n, total));
    let bytes = counter.0;
    eprintln!("{n} transfers: {:.1} MB of XML", bytes as f64 / 1e6);
    let mut group = c.benchmark_group("pain001");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("write_sepa_latin", |b| {
        b.iter(|| {
            let mut counter = Counter(0);
            let summary = write_pain001_to(&doc, Charset::SepaLatin, &mut counter).expect("write");
            assert_eq!((summary.transactions, counter.0), (n, bytes));
        })
    });
    group.finish();
}

criterion_group!(pain001, benches);
criterion_main!(pain001);
