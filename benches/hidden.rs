//! Criterion benchmark of the scan every CSV and MT940 input passes before it is parsed: removing
//! control and invisible characters (`settle_core::text::strip_hidden`). It runs on every night's
//! inputs, so its cost on a file with none (the common case) is what matters: a 64 MiB orders-like file
//! whose names carry non-ASCII letters on every row (each such character is decoded and checked).
//!
//! Run: `cargo bench --bench hidden`. Throughput is bytes/s. Every iteration asserts the outcome (no
//! change for the clean file; one character removed per row for the file with a byte order mark in each).

/// The allocator the `settle` binary uses, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::fmt::Write as _;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const BYTES: usize = 64 << 20;

fn file(hidden: bool) -> (Vec<u8>, usize) {
    let mut text = String::with_capacity(BYTES + 256);
    text.push_str("order_id,kind,beneficiary_id,channel,order_date,amount,currency,name\n");
    let mut rows = 0;
    while text.len() < BYTES {
        let mark = if hidden { "\u{feff}" } else { "" };
        let _ = writeln!(
            text,
            "{mark}O261031-{rows:08},sale,B{:05},stripe,2026-10-30,345.00,EUR,Müller Söhne & Cie – €",
            rows % 5000
        );
        rows += 1;
    }
    (text.into_bytes(), rows)
}

fn benches(c: &mut Criterion) {
    let (clean, _) = file(false);
    let (marked, rows) = file(true);
    let mut group = c.benchmark_group("hidden");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(clean.len() as u64));
    group.bench_function("scan_clean_file", |b| {
        b.iter(|| assert!(settle_core::text::strip_hidden(&clean).is_none()));
    });
    group.throughput(Throughput::Bytes(marked.len() as u64));
    group.bench_function("strip_a_mark_per_row", |b| {
        b.iter_with_large_drop(|| {
            let (out, stripped) = settle_core::text::strip_hidden(&marked).expect("marks");
            assert_eq!(stripped.len(), rows);
            out
        });
    });
    group.finish();
}

criterion_group!(hidden, benches);
criterion_main!(hidden);
