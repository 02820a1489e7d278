//! Criterion benchmark of the MT940 reader on a file written by `settle gen --mt940-entries`.
//!
//! Run: `cargo bench --bench mt940`; `SETTLE_BENCH_MT940_ENTRIES=450000` for the ~100 MB file (default
//! 100 000 entries, ~20 MB). Throughput is bytes/s; every iteration asserts the entry count and balance.

use std::sync::Arc;

/// The allocator the `settle` binary uses, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use settle_core::parse_date;

fn entries() -> u64 {
    std::env::var("SETTLE_BENCH_MT940_ENTRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000)
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("statement_large.sta");
    let n = entries();
    settle_gen::write_large_mt940(&path, n, 2, parse_date("2026-10-30").expect("date")).expect("generate");
    let bytes = std::fs::read(&path).expect("read");
    let file: Arc<str> = Arc::from("statement_large.sta");

    let mut group = c.benchmark_group("mt940");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    // The rows are returned, so criterion drops them outside the timed section: the figure is the time
    // to make canonical records from bytes (dropping 450 k rows adds about 8 %, see benches/README.md).
    group.bench_function("canonical_bank_entries", |b| {
        b.iter_with_large_drop(|| {
            let mut rows = Vec::with_capacity(usize::try_from(n).expect("fits"));
            settle_mt940::read_mt940_with("bench", &bytes, None, true, |m| {
                assert_eq!(settle_mt940::check_message(&m).balance_ok, Some(true));
                rows.extend(settle_mt940::into_bank_entries(&file, m));
                Ok(())
            })
            .expect("read");
            assert_eq!(rows.len() as u64, n);
            assert!(rows[0].reference.is_some(), "EREF mapped");
            rows
        })
    });
    group.bench_function("check", |b| {
        b.iter(|| {
            let mut entries = 0usize;
            settle_mt940::read_mt940_with("bench", &bytes, None, false, |m| {
                let check = settle_mt940::check_message(&m);
                assert_eq!(check.balance_ok, Some(true));
                entries += check.entries;
                Ok(())
            })
            .expect("read");
            assert_eq!(entries as u64, n);
        })
    });
    group.finish();
}

criterion_group! {
    name = mt940;
    config = Criterion::default().sample_size(10);
    targets = benches
}
criterion_main!(mt940);
