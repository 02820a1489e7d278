//! The settlement ledger at the size of a large night: 10^7 orders and 10^7 channel transactions a
//! night (2·10^7 records), checked against a full window of earlier nights' key files.
//!
//! `cargo bench --bench ledger` writes the window's key files once (SETTLE_LEDGER_DIR, default
//! target/ledger-bench; about 16 GB for 50 nights of 2·10^7 records) and then times, on this machine:
//! hashing a night's records (measured on 10^6 real orders and channel transactions, scaled to the
//! night), sorting and writing the night's key file, reading the window's manifests, and the check itself
//! (merge-joining tonight's sorted keys with every file, each section verified), with the process's peak
//! resident memory over the check. Sizes: SETTLE_LEDGER_RECORDS (default 20 000 000),
//! SETTLE_LEDGER_NIGHTS (default 50). Counts are asserted: the check must find exactly the records
//! planted in the window.

// Timings and throughput for the printout only; money is not computed here.
#![allow(clippy::float_arithmetic)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use settle_core::{ChannelKind, ChannelTransaction, Currency, Date, Decimal, Order, OrderKind, Provenance};
use settle_job::ledger;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// SplitMix64.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Night `n`'s key file and manifest under `out/<job>/<date>/`, made once.
fn night_file(out: &Path, n: u64, records: u64, date: Date) -> PathBuf {
    let dir = out.join("history").join(date.to_string());
    let manifest = dir.join("manifest.json");
    if manifest.is_file() {
        return dir;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let mut state = n.wrapping_mul(0x1234_5678_9abc_def1);
    let entries: Vec<ledger::Entry> = (0..records)
        .map(|_| {
            let identity = (next(&mut state), next(&mut state) as u32);
            ledger::Entry::new(identity, 0x00ab_cdef, ledger::Kind::Channel, true)
        })
        .collect();
    let written = ledger::write(entries, 50);
    std::fs::write(dir.join(ledger::FILE), &written.bytes).unwrap();
    let sha = format!("{:064x}", n); // The archive's key; the check verifies the sections' XXH3.
    let json = serde_json::json!({
        "job": {"name": "history"},
        "ledger": written.json,
        "outputs": [{"path": ledger::FILE, "bytes": written.bytes.len(), "sha256": sha}],
    });
    std::fs::write(&manifest, serde_json::to_vec(&json).unwrap()).unwrap();
    dir
}

fn order(i: u64) -> Order {
    Order {
        order_id: format!("O{i:010}").into(),
        kind: OrderKind::Sale,
        beneficiary_id: format!("B{:05}", i % 50_000).into(),
        channel: "stripe".into(),
        order_date: settle_core::parse_date("2026-11-30").unwrap(),
        amount: Decimal::new((i % 100_000) as i64 + 100, 2),
        currency: Currency::from_code("EUR").unwrap(),
        provenance: Provenance::line("orders.csv", i + 2),
    }
}

fn charge(i: u64) -> ChannelTransaction {
    ChannelTransaction {
        merchant_reference: Some(format!("O{i:010}").into()),
        batch_id: Some(format!("po_{:08}", i / 2_000).into()),
        ..ChannelTransaction::new(
            "stripe",
            &format!("ch_{i:016x}"),
            ChannelKind::Charge,
            Decimal::new((i % 100_000) as i64 + 90, 2),
            Decimal::new(10, 2),
            Currency::from_code("EUR").unwrap(),
            settle_core::parse_date("2026-11-30").unwrap(),
            Provenance::line("stripe.csv", i + 2),
        )
    }
}

fn main() {
    let records = env_or("SETTLE_LEDGER_RECORDS", 20_000_000);
    let nights = env_or("SETTLE_LEDGER_NIGHTS", 50);
    let dir = std::env::var("SETTLE_LEDGER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ledger-bench"));
    let out = dir.join(format!("out-{records}-{nights}"));
    let tonight_date = settle_core::parse_date("2026-12-31").unwrap();
    let day = |k: u64| tonight_date.checked_sub(jiff::Span::new().days(k as i64)).unwrap();
    let started = Instant::now();
    for n in 1..=nights {
        night_file(&out, n, records, day(n));
    }
    println!(
        "window          {nights} nights of {records} records ({:.1} s to make or find)",
        started.elapsed().as_secs_f64()
    );

    // Hashing real records: 10^6 orders and 10^6 channel transactions, scaled to the night.
    let sample = 1_000_000u64;
    let orders: Vec<Order> = (0..sample).map(order).collect();
    let channel: Vec<ChannelTransaction> = (0..sample).map(charge).collect();
    let t = Instant::now();
    let tonight = ledger::Tonight::new(&orders, &channel, &[], &[], (0, 0, 0));
    let hash_s = t.elapsed().as_secs_f64() * (records as f64 / (2 * sample) as f64);
    assert_eq!(tonight.len() as u64, 2 * sample);
    println!("hash + sort     {:.2} s for {records} records (measured on {} real records)", hash_s, 2 * sample);
    drop((orders, channel, tonight));

    // The night's own key file: sort and serialize 2·10^7 entries.
    let mut state = 99u64;
    let entries: Vec<ledger::Entry> = (0..records)
        .map(|_| ledger::Entry::new((next(&mut state), next(&mut state) as u32), 1, ledger::Kind::Order, true))
        .collect();
    let t = Instant::now();
    let written = ledger::write(entries, 50);
    let write_s = t.elapsed().as_secs_f64();
    println!("night's file    {write_s:.2} s to sort and serialize ({} MB)", written.bytes.len() / 1_000_000);
    drop(written);

    // Tonight's keys: fresh random identities, and 1 000 taken from each of the first three nights.
    let mut keys: Vec<(u64, u32, u32)> = Vec::with_capacity(records as usize);
    let mut state = 7u64;
    for i in 0..records {
        keys.push((next(&mut state), next(&mut state) as u32, i as u32));
    }
    let mut planted = 0u32;
    for n in 1..=3.min(nights) {
        let mut state = n.wrapping_mul(0x1234_5678_9abc_def1);
        for k in 0..1_000u32 {
            let identity = (next(&mut state), next(&mut state) as u32);
            keys[(k + 1_000 * (n as u32 - 1)) as usize] = (identity.0, identity.1, k + 1_000 * (n as u32 - 1));
            planted += 1;
        }
    }
    let tonight = ledger::Tonight::from_keys(keys, records as u32, 0);
    reset_peak_rss();
    let rss_before = peak_rss_kib();
    let t = Instant::now();
    let window = ledger::window(&out, "tonight", tonight_date, 50).unwrap().files;
    let window_s = t.elapsed().as_secs_f64();
    assert_eq!(window.len() as u64, nights.min(50));
    let t = Instant::now();
    let known = ledger::check(&window, &out, &ledger::Source::Disk(&out), &tonight, "tonight").unwrap();
    let check_s = t.elapsed().as_secs_f64();
    let rss = peak_rss_kib();
    assert_eq!(known.orders.len() as u32, planted, "the planted records are found, and only they");
    let read_gb = (window.len() as u64 * records * 8) as f64 / 1e9;
    println!("window read     {window_s:.2} s ({} manifests)", window.len());
    println!(
        "check           {check_s:.2} s: {} files, {read_gb:.1} GB of keys streamed ({:.2} GB/s), {planted} found",
        window.len(),
        read_gb / check_s
    );
    println!(
        "peak memory     {:.2} GB over the check ({:.2} GB before it: tonight's keys and contents)",
        rss as f64 / 1048576.0,
        rss_before as f64 / 1048576.0
    );
    // A night hashes its fresh records once (its key file reuses the hashes; only carried records are
    // hashed again for it, a small part of a night).
    println!(
        "in all          {:.1} s a night: hash {hash_s:.1} + night's file {write_s:.1} + window {window_s:.2} + check {check_s:.1}",
        hash_s + write_s + window_s + check_s
    );
}
