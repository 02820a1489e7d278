//! Reconciliation at scale: a whole generated day's records matched after parsing, timed once per
//! repetition, with the peak memory the matching needs on top of the records it reads.
//!
//! Run on a day made by `settle gen` (10 million orders: `settle gen --orders 10000000
//! --merchant-accounts 25000 --out DAY`):
//!
//! ```text
//! SETTLE_BENCH_DAY=DAY cargo bench --bench recon_scale
//! ```
//!
//! Without `SETTLE_BENCH_DAY` it generates a day of `SETTLE_BENCH_ORDERS` orders (default 100 000) in
//! a temporary directory. `SETTLE_BENCH_REPEAT` (default 3) sets the repetitions; the median is
//! reported. This is not a criterion bench: one repetition at 10^7 orders takes tens of seconds and
//! the figure that matters beside the time is the peak resident memory, which criterion does not
//! measure. Peak memory is read from `/proc/self/status` (`VmHWM`) after resetting it once the
//! inputs are parsed (`/proc/self/clear_refs`), so it is the records' own memory plus the matching's.
//! Every repetition asserts the counts and conservation, so a broken engine cannot be fast.
// Seconds, rates and gigabytes for the report; no money is computed here.
#![allow(clippy::float_arithmetic)]

use std::path::{Path, PathBuf};
use std::time::Instant;

/// The allocator the `settle` binary uses, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../src/alloc.rs"]
mod alloc;
use alloc::release_freed_memory;

use rayon::prelude::*;
use settle_core::{BankEntry, ChannelTransaction, Order};
use settle_job::{InputRole, JobSpec};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A `/proc/self/status` field in KiB (`VmHWM`: peak resident, `VmRSS`: resident), 0 where /proc is missing.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Resets `VmHWM` to the current resident size (Linux ≥ 4.0); false where that is not possible.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

enum Read {
    Orders(Vec<Order>),
    Channel(Vec<ChannelTransaction>),
    Bank(Vec<BankEntry>),
}

fn read_day(dir: &Path) -> (JobSpec, Vec<Order>, Vec<ChannelTransaction>, Vec<BankEntry>, u64) {
    let job_path = dir.join("job.toml");
    let text = std::fs::read_to_string(&job_path).expect("the day's job.toml");
    let spec = JobSpec::parse(&job_path.display().to_string(), &text).expect("job spec");
    let inputs: Vec<(InputRole, PathBuf, Option<String>)> = spec
        .inputs()
        .into_iter()
        .filter(|(role, _, _)| {
            matches!(role, InputRole::Orders | InputRole::ChannelTransactions | InputRole::BankEntries)
        })
        .map(|(role, path, profile)| (role, dir.join(path), profile.map(str::to_string)))
        .collect();
    let bytes_total: u64 = inputs.iter().map(|(_, p, _)| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)).sum();
    let reads: Vec<Read> = inputs
        .into_par_iter()
        .map(|(role, path, profile)| {
            let bytes = std::fs::read(&path).expect("input file");
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("input").to_string();
            let chosen = profile.map(|p| settle_job::profiles::resolve(dir, &name, &p).expect("profile"));
            let chosen = chosen.flatten();
            match role {
                InputRole::Orders => Read::Orders(settle_tabular::read_orders(&name, &bytes).expect("orders")),
                InputRole::ChannelTransactions => Read::Channel(
                    settle_job::profiles::read(
                        &name,
                        &bytes,
                        chosen.as_ref(),
                        settle_tabular::RecordKind::ChannelTransactions,
                        None,
                    )
                    .expect("channel report")
                    .channel_transactions,
                ),
                _ => Read::Bank(settle_job::bankfiles::read_bank_bytes(&name, &bytes, false, None).expect("bank file")),
            }
        })
        .collect();
    let (mut orders, mut channel, mut bank) = (Vec::new(), Vec::new(), Vec::new());
    for read in reads {
        match read {
            Read::Orders(v) => orders.push(v),
            Read::Channel(v) => channel.push(v),
            Read::Bank(v) => bank.push(v),
        }
    }
    (spec, settle_job::concat(orders), settle_job::concat(channel), settle_job::concat(bank), bytes_total)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let _temp;
    let dir = match std::env::var_os("SETTLE_BENCH_DAY") {
        Some(dir) => PathBuf::from(dir),
        None => {
            _temp = tempfile::tempdir().expect("temp dir");
            let options = settle_gen::GenOptions {
                orders: env_u64("SETTLE_BENCH_ORDERS", 100_000),
                seed: 7,
                business_date: settle_core::parse_date("2026-10-31").expect("date"),
                beneficiaries: None,
                rates: settle_gen::InjectionRates::uniform("0.005".parse().expect("rate")),
                short_credits: 1,
                stray_credits: 1,
                merchant_accounts: env_u64("SETTLE_BENCH_MERCHANT_ACCOUNTS", 250),
                night: 0,
                job_name: "bench".into(),
            };
            settle_gen::generate(_temp.path(), &options).expect("generate");
            _temp.path().to_path_buf()
        }
    };
    let repeat = env_u64("SETTLE_BENCH_REPEAT", 3).max(1);
    let threads = rayon::current_num_threads();

    let started = Instant::now();
    let (spec, orders, channel, bank, bytes) = read_day(&dir);
    let parse_s = started.elapsed().as_secs_f64();
    let records = orders.len() + channel.len() + bank.len();
    eprintln!(
        "day {}: {} orders, {} channel transactions, {} bank entries ({:.0} MB of inputs) parsed in {parse_s:.1} s on {threads} threads",
        dir.display(),
        orders.len(),
        channel.len(),
        bank.len(),
        bytes as f64 / 1e6
    );
    let structs = orders.capacity() * std::mem::size_of::<Order>()
        + channel.capacity() * std::mem::size_of::<ChannelTransaction>()
        + bank.capacity() * std::mem::size_of::<BankEntry>();
    eprintln!("record structs (without their heap strings): {:.2} GB", structs as f64 / (1u64 << 30) as f64);
    eprintln!("resident right after parsing: {:.2} GB", status_kib("VmRSS") as f64 / 1048576.0);
    // As `settle run` does after ingest (src/alloc.rs): the freed parse memory back to the OS.
    release_freed_memory();
    let resident_kib = status_kib("VmRSS");
    let reset = reset_peak_rss();
    eprintln!(
        "resident after parsing: {:.2} GB (the records); peak reset: {}",
        resident_kib as f64 / 1048576.0,
        if reset { "yes" } else { "no (peak includes parsing)" }
    );
    let calendar = settle_core::Calendar::target2();
    let prior = settle_recon::Prior::default();
    let stage_a_only = settle_recon::ReconRules::default();

    let mut full = Vec::new();
    let mut a_only = Vec::new();
    let mut matches = 0;
    let stage_a_runs = std::env::var("SETTLE_BENCH_STAGE_A").map_or(true, |v| v != "0");
    for round in 0..repeat {
        // Stage A alone: the bank side left out.
        if stage_a_runs {
            let t = Instant::now();
            let result = settle_recon::reconcile_nights(&orders, &channel, &[], &prior, &stage_a_only, &calendar)
                .expect("reconcile (stage A)");
            a_only.push(t.elapsed().as_secs_f64());
            assert_eq!(result.orders.len(), orders.len());
            drop(result);
        } else {
            a_only.push(0.0);
        }

        let t = Instant::now();
        let result = settle_recon::reconcile_nights(&orders, &channel, &bank, &prior, &spec.recon, &calendar)
            .expect("reconcile");
        full.push(t.elapsed().as_secs_f64());
        assert_eq!(result.orders.len(), orders.len());
        assert_eq!(result.channel.len(), channel.len());
        assert_eq!(result.bank.len(), bank.len());
        // Most orders match (the generator injects 0.5 % of each kind of break).
        assert!(result.matches.len() > orders.len() * 9 / 10, "{} matches", result.matches.len());
        let bank_matched = result.bank.iter().filter(|p| matches!(p, settle_recon::Place::Matched)).count();
        assert!(bank_matched * 10 > bank.len() * 9, "{bank_matched} of {} bank entries matched", bank.len());
        matches = result.matches.len();
        let t = Instant::now();
        drop(result);
        eprintln!(
            "round {round}: stage A {:.2} s, all stages {:.2} s (dropping the result {:.2} s)",
            a_only[round as usize],
            full[round as usize],
            t.elapsed().as_secs_f64()
        );
    }
    let (a, all) = (median(a_only), median(full));
    let peak_gb = status_kib("VmHWM") as f64 / 1048576.0;
    let stage_a_records = orders.len() + channel.len();
    println!("records: {records} ({} matches)", matches);
    if stage_a_runs {
        println!(
            "stage A and batch totals (no bank entries): {a:.2} s, {:.2} M records/s",
            stage_a_records as f64 / a / 1e6
        );
        println!(
            "stages B+C on top (batches ↔ bank entries, payouts ↔ debits): {:.2} s for {} bank entries",
            (all - a).max(0.0),
            bank.len()
        );
    }
    println!(
        "all stages: {all:.2} s, {:.2} M records/s (one core: the engine is single-threaded)",
        records as f64 / all / 1e6
    );
    println!("peak resident memory: {peak_gb:.2} GB (records {:.2} GB + matching)", resident_kib as f64 / 1048576.0);
}
