//! Criterion benchmarks of FX: loading a full-size ECB history (`settle_gen::ecb_history_csv`, 7 300
//! business days × 30 currencies, the size of the real `eurofxref-hist.csv`) into a rate table, and
//! converting on it with the as-of rule and rounding.
//!
//! Run: `cargo bench --bench fx`. Throughput is conversions/s (elements). Every iteration asserts the sum
//! of what it converted against the same conversions done the slow way (looked-up rate, `Decimal`
//! multiplication, `Money` rounding) outside the timing, so a conversion that skips work cannot look fast.

/// The allocator the `settle` binary uses, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use settle_core::{Currency, Date, Money, RoundingMode, parse_date};
use settle_fx::{ConversionPolicy, RateTable};

const DAYS: u32 = 7_300;
const CONVERSIONS: usize = 100_000;

fn benches(c: &mut Criterion) {
    let last = parse_date("2026-10-30").expect("date");
    let csv = settle_gen::ecb_history_csv(DAYS, 7, last);
    let mut group = c.benchmark_group("fx");
    group.sample_size(10);
    // The table is dropped outside the timing (a run keeps it to the end).
    group.bench_function("load_ecb_history", |b| {
        b.iter_with_large_drop(|| {
            let file = settle_fx::ecb::read_ecb("eurofxref-hist.csv", csv.as_bytes()).expect("read");
            assert_eq!(file.rates.len(), DAYS as usize * 30);
            RateTable::new(file.rates).expect("table")
        })
    });
    let table = RateTable::new(settle_fx::ecb::read_ecb("h.csv", csv.as_bytes()).expect("read").rates).expect("table");
    let codes = ["USD", "JPY", "GBP", "CHF", "KRW", "PLN", "SEK", "ZAR"];
    let currencies: Vec<Currency> = codes.iter().map(|c| Currency::from_code(c).expect("code")).collect();
    let eur = Currency::from_code("EUR").expect("EUR");
    // Dates over the last twenty years, weekends included (those fall back to Friday).
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let dates: Vec<Date> = (0..CONVERSIONS)
        .map(|_| last.checked_sub(jiff::Span::new().days(i64::try_from(next(7_000)).expect("small"))).expect("date"))
        .collect();
    let amounts: Vec<Money> = (0..CONVERSIONS)
        .map(|_| Money::from_minor_units(i128::from(next(10_000_000)) + 1, eur).expect("money"))
        .collect();
    let policy = ConversionPolicy { max_rate_age_days: 4, rounding: RoundingMode::HalfEven };
    // Σ of the converted amounts' mantissas, computed without `convert`.
    let expected = |pairs: &[(Money, Currency, Date)]| -> i128 {
        pairs
            .iter()
            .map(|(money, to, date)| {
                let rate = table.lookup(money.currency(), *to, *date, policy.max_rate_age_days).expect("rate");
                let unrounded = Money::new(money.amount() * rate.rate, *to);
                unrounded.round_with_residual(policy.rounding).expect("round").money.amount().mantissa()
            })
            .sum()
    };
    let run = |pairs: &[(Money, Currency, Date)]| -> i128 {
        let mut total_minor = 0i128;
        for (money, to, date) in pairs {
            total_minor += table.convert(*money, *to, *date, policy).expect("rate").to.amount().mantissa();
        }
        total_minor
    };
    group.throughput(Throughput::Elements(CONVERSIONS as u64));
    let as_of: Vec<_> = dates.iter().enumerate().map(|(i, date)| (amounts[i], currencies[i % 8], *date)).collect();
    let want = expected(&as_of);
    group.bench_function("convert_from_eur_as_of", |b| b.iter(|| assert_eq!(run(&as_of), want)));
    // A night's batch: dates within the last 30 days (the rates it reads stay in cache).
    let recent: Vec<_> = (0..CONVERSIONS)
        .map(|i| {
            let date = last.checked_sub(jiff::Span::new().days(i64::try_from(i % 30).expect("small"))).expect("date");
            (amounts[i], currencies[i % 8], date)
        })
        .collect();
    let want = expected(&recent);
    group.bench_function("convert_from_eur_recent_dates", |b| b.iter(|| assert_eq!(run(&recent), want)));
    // Between two non-base currencies: crossed through EUR (a 28-digit division per conversion).
    let cross: Vec<_> = dates
        .iter()
        .enumerate()
        .map(|(i, date)| {
            (Money::from_minor_units(12_345, currencies[i % 8]).expect("money"), currencies[(i + 3) % 8], *date)
        })
        .collect();
    let want = expected(&cross);
    group.bench_function("convert_cross_as_of", |b| b.iter(|| assert_eq!(run(&cross), want)));
    group.finish();
}

criterion_group!(fx, benches);
criterion_main!(fx);
