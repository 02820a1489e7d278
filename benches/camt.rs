//! Criterion benchmarks of the camt reader on a statement written by `settle gen --camt-entries`.
//!
//! Run: `cargo bench --bench camt`; `SETTLE_BENCH_CAMT_ENTRIES=500000` for the full-size file (about
//! 350 MB with this generator's entries, about 710 bytes each). Throughput is bytes/s of the XML. Every benchmark asserts the
//! entry count and the balance check, so a reader that skips work cannot look fast.

use std::sync::Arc;

/// The allocator the `settle` binary uses, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use settle_core::parse_date;
use settle_iso20022::{CamtEvent, Limits, StatementChecker, into_bank_entry, read_camt_events};

fn entries() -> u64 {
    std::env::var("SETTLE_BENCH_CAMT_ENTRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000)
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("statement_large.xml");
    let n = entries();
    settle_gen::write_large_camt053(&path, n, 3, parse_date("2026-10-30").expect("date")).expect("generate");
    let bytes = std::fs::read(&path).expect("read");
    let file: Arc<str> = Arc::from("statement_large.xml");

    let mut group = c.benchmark_group("camt053");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("canonical_bank_entries", |b| {
        b.iter(|| {
            let mut rows = Vec::with_capacity(usize::try_from(n).expect("fits"));
            read_camt_events("bench", &bytes[..], Limits::default(), false, &mut |event| {
                if let CamtEvent::Entry(statement, entry) = event {
                    rows.push(into_bank_entry(statement, entry, &file));
                }
                Ok(())
            })
            .expect("read");
            assert_eq!(rows.len() as u64, n);
        })
    });
    group.bench_function("check_streaming", |b| {
        b.iter(|| {
            let mut checker = StatementChecker::default();
            let mut balanced = false;
            read_camt_events("bench", &bytes[..], Limits::default(), false, &mut |event| {
                match event {
                    CamtEvent::Entry(statement, entry) => checker.add(statement, &entry),
                    CamtEvent::Statement(statement) => {
                        let check = std::mem::take(&mut checker).finish(&statement);
                        assert_eq!(check.entries as u64, n);
                        balanced = check.balance_ok == Some(true) && check.problems.is_empty();
                    }
                }
                Ok(())
            })
            .expect("read");
            assert!(balanced);
        })
    });
    group.finish();
}

criterion_group! {
    name = camt;
    config = Criterion::default().sample_size(10);
    targets = benches
}
criterion_main!(camt);
