//! Criterion benchmark of the profile-driven channel report reader on a generated Adyen settlement
//! details report (`settle_gen::write_large_adyen`).
//!
//! Run: `cargo bench --bench channels`; `SETTLE_BENCH_ADYEN_ROWS=750000` for the ~200 MB file (default
//! 150 000 rows, ~40 MB). Throughput is bytes/s; every iteration asserts the row count, that every batch
//! adds up to its payout row, and that no check failed.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use settle_core::{ChannelKind, Decimal, parse_date};

/// The allocator the `settle` binary uses, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn rows() -> u64 {
    std::env::var("SETTLE_BENCH_ADYEN_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(150_000)
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("adyen_large.csv");
    let n = rows();
    settle_gen::write_large_adyen(&path, n, 3, parse_date("2026-10-30").expect("date")).expect("generate");
    let bytes = std::fs::read(&path).expect("read");
    let profile =
        settle_tabular::builtin_profiles().into_iter().find(|p| p.name == "adyen_sdr").expect("built-in profile");
    let batches = n.div_ceil(10_000);

    let mut group = c.benchmark_group("channels");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    // One core, then every core rayon has (record-aligned chunks of the file in parallel).
    let threads =
        [("adyen_sdr_canonical_1_thread", 1), ("adyen_sdr_canonical_all_threads", rayon::current_num_threads())];
    for (name, threads) in threads {
        // Each read is timed alone; its checks and the drop of its rows come after the clock stops, one
        // read at a time (criterion's `iter_with_large_drop` would keep a batch of reads, gigabytes of
        // rows, alive before dropping them, which is not what a run does).
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut elapsed = std::time::Duration::ZERO;
                for _ in 0..iters {
                    let start = std::time::Instant::now();
                    let read = settle_tabular::read_with_profile_threads("adyen_large.csv", &bytes, &profile, threads)
                        .expect("read");
                    elapsed += start.elapsed();
                    let rows = &read.channel_transactions;
                    assert_eq!(rows.len() as u64, n + batches);
                    assert!(read.problems.is_empty(), "{:?}", &read.problems[..1]);
                    let total: Decimal = rows.iter().map(|r| r.net).sum();
                    assert_eq!(total, Decimal::ZERO, "every batch adds up to its payout");
                    assert_eq!(rows.iter().filter(|r| r.kind == ChannelKind::Payout).count() as u64, batches);
                    drop(read);
                }
                elapsed
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = channels;
    config = Criterion::default().sample_size(10);
    targets = benches
}
criterion_main!(channels);
