//! settle-fx: reference rate tables and conversion.
//!
//! A conversion always records the rate it used, the rate date (which may be earlier than the date asked
//! for: as-of fallback to the last earlier published rate), the source, the rounding mode and the
//! rounding residual. Rates are kept at their full published precision.
//!
//! Tables are built from `Rate` records: read from the ECB's files by `ecb` (history CSV, daily CSV,
//! XML feeds), or from settle's generic rates CSV by settle-tabular.
#![forbid(unsafe_code)]
#![deny(clippy::float_arithmetic)]

use std::collections::BTreeMap;

pub mod cost;
pub mod ecb;
#[cfg(test)]
mod ecb_tests;
pub mod fetch;
mod source;
pub use source::RateSource;
#[cfg(all(test, feature = "fetch"))]
mod fetch_tests;

use serde::Serialize;
use settle_core::{Currency, Date, Decimal, Money, MoneyError, Provenance, Rate, RoundingMode, fixed};

/// An FX failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FxError {
    #[error(
        "no {from}/{to} rate on {requested} or in the {max_age_days} calendar days before it (directly, inverted, or crossed through a common base); {}",
        match last { Some((date, rate)) => format!("the last one is {rate} on {date}"), None => "the table has none before it".into() }
    )]
    NoRate { from: Currency, to: Currency, requested: Date, max_age_days: u32, last: Option<(Date, Decimal)> },
    #[error("{currency} has no ECB reference rate after {last_date} (the ECB stopped quoting it; last quote {}): cannot convert on {requested}", last_rate.map(|r| r.to_string()).unwrap_or_else(|| "not in the table".into()))]
    Discontinued { currency: Currency, requested: Date, last_date: Date, last_rate: Option<Decimal> },
    #[error("{0}")]
    Conflict(Box<RateConflict>),
    #[error("converting {money}: {source}")]
    Money { money: Money, source: MoneyError },
    #[error("{0}")]
    Implausible(Box<ImplausibleRate>),
}

/// A published rate no conversion should use: outside the range any reference rate has, or moved
/// further from the pair's previous published rate than the job allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{at}: {base}/{quote} rate {rate} on {date} {}",
    match previous {
        Some((date, rate, at)) => format!("is {change}% away from {rate} on {date} (at {at}); the job allows {limit}% a week (fx.max_rate_change_percent)"),
        None => format!("is outside {RATE_MIN}..{RATE_MAX}, the range a reference rate of an ISO 4217 currency has"),
    }
)]
pub struct ImplausibleRate {
    pub at: Provenance,
    pub date: Date,
    pub base: Currency,
    pub quote: Currency,
    pub rate: Decimal,
    /// The pair's previous published rate (date, rate, where); None when the rate is out of range.
    pub previous: Option<(Date, Decimal, Provenance)>,
    /// |rate / previous − 1| in percent, two decimals.
    pub change: Decimal,
    pub limit: Decimal,
}

/// The smallest and largest rate settle accepts for a pair (1 unit of the base in the quote): the ECB's
/// rates run from about 0.3 (KWD) to about 20 000 (IDR), and the weakest currencies of the world are
/// within a few hundred thousand of the strongest; outside this range a rate is a typo or an attack.
pub const RATE_MIN: Decimal = Decimal::from_parts(1, 0, 0, false, 6);
pub const RATE_MAX: Decimal = Decimal::from_parts(10_000_000, 0, 0, false, 0);

/// The default of `fx.max_rate_change_percent`: a published rate may move this far from the pair's
/// previous published rate (the largest daily move of an ECB reference rate since 1999 is under 20 %).
pub const DEFAULT_MAX_RATE_CHANGE_PERCENT: Decimal = Decimal::from_parts(25, 0, 0, false, 0);

/// Two different rates for the same pair and date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("conflicting rates for {base}/{quote} on {date}: {first} at {first_at} and {second} at {second_at}")]
pub struct RateConflict {
    pub date: Date,
    pub base: Currency,
    pub quote: Currency,
    pub first: Decimal,
    pub first_at: Provenance,
    pub second: Decimal,
    pub second_at: Provenance,
}

/// How a rate was derived from the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RatePath {
    /// A published from/to rate.
    Direct,
    /// 1 / a published to/from rate.
    Inverse,
    /// to-rate / from-rate, both quoted against `via` on the same date.
    Cross { via: Currency },
}

impl RatePath {
    pub fn describe(&self) -> String {
        match self {
            RatePath::Direct => "direct".into(),
            RatePath::Inverse => "inverse".into(),
            RatePath::Cross { via } => format!("cross:{via}"),
        }
    }
}

/// A rate as applied: 1 `from` = `rate` `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppliedRate {
    pub from: Currency,
    pub to: Currency,
    pub rate: Decimal,
    pub requested_date: Date,
    pub rate_date: Date,
    /// Interned (no copy per conversion).
    pub source: RateSource,
    pub path: RatePath,
}

impl AppliedRate {
    /// Whether an earlier rate date than the one requested was used.
    pub fn is_fallback(&self) -> bool {
        self.rate_date != self.requested_date
    }
}

/// The policy of a conversion: how old a rate may be and how to round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversionPolicy {
    /// A rate up to this many calendar days before the requested date may be used (weekends,
    /// TARGET2 holidays). 0 = only the requested date.
    pub max_rate_age_days: u32,
    pub rounding: RoundingMode,
}

/// One conversion, with everything needed to recompute it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conversion {
    pub from: Money,
    /// Rounded to the target currency's minor units.
    pub to: Money,
    /// `from × rate` before rounding.
    pub unrounded: Decimal,
    /// `unrounded − to` (what rounding left over).
    pub residual: Decimal,
    pub rate: AppliedRate,
    pub rounding: RoundingMode,
}

/// A conversion made by a run, with what it was for: every one is written to `conversions.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedConversion {
    /// `payout`, `reporting`, …
    pub purpose: &'static str,
    /// What was converted: a payout id, a summary total, …
    pub reference: String,
    pub conversion: Conversion,
}

#[derive(Debug, Clone)]
struct Published {
    rate: Decimal,
    source: RateSource,
    provenance: Provenance,
}

/// Reference rates by date, then by (base, quote).
#[derive(Debug, Clone, Default)]
pub struct RateTable {
    by_date: BTreeMap<Date, BTreeMap<(Currency, Currency), Published>>,
    /// The rates quoted against the most common base (EUR for the ECB's), by day and currency: as-of
    /// lookups against it take constant time. Built with the table; `None` when it has no rates.
    index: Option<PivotIndex>,
}

/// Dense as-of rates of one base (the pivot) by (currency, day): `cells[column * days + day]` holds the
/// latest rate published at or before that day and the day it was published, so a lookup is one read.
#[derive(Debug, Clone)]
struct PivotIndex {
    pivot: Currency,
    first_day: i64,
    days: usize,
    /// By currency ordinal: the column, or `u16::MAX`.
    column_of: Vec<u16>,
    cells: Vec<Cell>,
    /// Rates whose mantissa is negative or beyond 64 bits, referred to by their cells.
    big_rates: Vec<Decimal>,
    /// One source for every indexed rate; a table whose pivot rates come from several sources is not
    /// indexed (lookups then walk the dated map).
    source: RateSource,
    /// The date of each day index.
    dates: Vec<Date>,
    /// The year of `month_starts[0]`, the table's first year.
    first_year: i32,
    /// By `(year − first_year) × 12 + month − 1`: the day index of that month's first day (negative
    /// before the table's first day), through the year after the table's last.
    month_starts: Vec<i64>,
    /// By column: the last day index its currency may be converted on (the ECB's last quote of a
    /// discontinued currency; `i64::MAX` otherwise). Later days go to `RateTable::lookup`'s error.
    last_day_of: Vec<i64>,
    /// The same for the pivot.
    pivot_last_day: i64,
}

/// The latest rate at or before a day, in 16 bytes: `day` is the day index it was published on (`NONE`:
/// no rate yet); the rate is `mantissa × 10^-scale`, or `big_rates[mantissa]` when `scale` is `BIG`.
#[derive(Debug, Clone, Copy)]
struct Cell {
    mantissa: u64,
    day: u32,
    scale: u8,
}

const BIG: u8 = u8::MAX;

const NONE: u32 = u32::MAX;

/// Days since 1970-01-01 of a civil date (proleptic Gregorian), without a time-zone database.
fn day_number(date: Date) -> i64 {
    let (y, m, d) = (i64::from(date.year()), i64::from(date.month()), i64::from(date.day()));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl PivotIndex {
    /// One pass over the map: only a table whose rates all share one base and one source is indexed
    /// (with other bases the map may hold a direct rate the index would cross).
    fn build(by_date: &BTreeMap<Date, BTreeMap<(Currency, Currency), Published>>) -> Option<PivotIndex> {
        let (first, last) = (*by_date.keys().next()?, *by_date.keys().next_back()?);
        let (&(pivot, _), first_rate) = by_date.values().next()?.iter().next()?;
        let source = first_rate.source;
        let first_day = day_number(first);
        let days = usize::try_from(day_number(last) - first_day + 1).ok()?;
        let day_count = u32::try_from(days).ok().filter(|d| *d < NONE)?;
        let mut column_of = vec![u16::MAX; Currency::count()];
        let empty = Cell { mantissa: 0, day: NONE, scale: 0 };
        let mut big_rates = Vec::new();
        let mut by_column: Vec<Vec<Cell>> = Vec::new();
        for (date, day) in by_date {
            let d = u32::try_from(day_number(*date) - first_day).ok().filter(|d| *d < day_count)?;
            for ((base, quote), published) in day {
                if *base != pivot || source != published.source {
                    return None;
                }
                let column = &mut column_of[quote.ordinal()];
                if *column == u16::MAX {
                    *column = u16::try_from(by_column.len()).ok()?;
                    by_column.push(vec![empty; days]);
                }
                let rate = published.rate;
                let (mantissa, scale) = match fixed::magnitude_u64(rate) {
                    Some(m) if rate.is_sign_positive() => (m, u8::try_from(rate.scale()).ok()?),
                    _ => {
                        big_rates.push(rate);
                        (u64::try_from(big_rates.len() - 1).ok()?, BIG)
                    }
                };
                by_column[usize::from(*column)][d as usize] = Cell { mantissa, day: d, scale };
            }
        }
        let mut cells = Vec::with_capacity(days * by_column.len());
        for column in &by_column {
            // Fill each day without a rate with the latest earlier one.
            let mut latest = empty;
            for cell in column {
                if cell.day != NONE {
                    latest = *cell;
                }
                cells.push(latest);
            }
        }
        let mut dates = Vec::with_capacity(days);
        let mut date = first;
        for _ in 0..days {
            dates.push(date);
            date = date.tomorrow().unwrap_or(date);
        }
        let first_year = i32::from(first.year());
        let mut month_starts = Vec::new();
        for year in first_year..=i32::from(last.year()) + 1 {
            for month in 1..=12 {
                let first_of_month = Date::new(i16::try_from(year).ok()?, month, 1).ok()?;
                month_starts.push(day_number(first_of_month) - first_day);
            }
        }
        let last_day =
            |currency: Currency| ecb::ecb_last_quote(currency).map_or(i64::MAX, |d| day_number(d) - first_day);
        let mut last_day_of = vec![i64::MAX; by_column.len()];
        for (ordinal, column) in column_of.iter().enumerate() {
            if let Some(slot) = last_day_of.get_mut(usize::from(*column)) {
                *slot = Currency::all().nth(ordinal).map_or(i64::MAX, last_day);
            }
        }
        let pivot_last_day = last_day(pivot);
        Some(PivotIndex {
            pivot,
            first_day,
            days,
            column_of,
            cells,
            big_rates,
            source,
            dates,
            first_year,
            month_starts,
            last_day_of,
            pivot_last_day,
        })
    }

    /// The rate as the dated map would give it (direct, inverse, or crossed through the pivot on the
    /// latest day within `max_age_days` that quotes both), in constant time; `None` when the index cannot
    /// answer (the caller then walks the map, which also words the error).
    #[inline]
    fn lookup(&self, from: Currency, to: Currency, date: Date, max_age_days: u32) -> Option<AppliedRate> {
        let d = self.day_offset(date);
        if d < 0 {
            return None;
        }
        let (k, rate, path) = match (self.as_of(from, d, max_age_days)?, self.as_of(to, d, max_age_days)?) {
            (None, Some(to_cell)) => (to_cell.day, self.rate(to_cell), RatePath::Direct),
            (Some(from_cell), None) => {
                (from_cell.day, Decimal::ONE.checked_div(self.rate(from_cell))?, RatePath::Inverse)
            }
            (Some(from_cell), Some(to_cell)) => {
                let (k, leg_from, leg_to) = if from_cell.day == to_cell.day {
                    (from_cell.day, self.rate(from_cell), self.rate(to_cell))
                } else {
                    self.latest_quoting_both(from, to, from_cell.day.min(to_cell.day), d - i64::from(max_age_days))?
                };
                (k, leg_to.checked_div(leg_from)?, RatePath::Cross { via: self.pivot })
            }
            (None, None) => return None,
        };
        let rate_date = *self.dates.get(k as usize)?;
        Some(AppliedRate { from, to, rate, requested_date: date, rate_date, source: self.source, path })
    }

    /// `convert` from the pivot at its rate for `date` (the night's common case: one read, integer
    /// arithmetic); `None` for everything else, which takes the general path.
    #[inline]
    fn convert_from_pivot(
        &self,
        money: Money,
        to: Currency,
        date: Date,
        policy: ConversionPolicy,
    ) -> Option<Conversion> {
        if money.currency() != self.pivot {
            return None;
        }
        let d = self.day_offset(date);
        let c = usize::from(*self.column_of.get(to.ordinal())?);
        if d < 0 || d > self.pivot_last_day || d > *self.last_day_of.get(c)? {
            return None;
        }
        let clamped = d.min(self.days as i64 - 1) as usize;
        let cell = *self.cells.get(c * self.days + clamped)?;
        if cell.day == NONE || d - i64::from(cell.day) > i64::from(policy.max_rate_age_days) {
            return None;
        }
        if cell.scale == BIG {
            return None;
        }
        let scale = u32::from(cell.scale);
        let units = u32::from(to.minor_units()?);
        let (amount, unrounded, residual) =
            fixed::multiply_rounded(money.amount(), cell.mantissa, scale, units, policy.rounding)?;
        let rate = AppliedRate {
            from: self.pivot,
            to,
            rate: fixed::from_u64(cell.mantissa, false, scale),
            requested_date: date,
            rate_date: *self.dates.get(cell.day as usize)?,
            source: self.source,
            path: RatePath::Direct,
        };
        Some(Conversion {
            from: money,
            to: Money::new(amount, to),
            unrounded,
            residual,
            rate,
            rounding: policy.rounding,
        })
    }

    /// Days from the table's first day to `date` (a table look-up for the years it covers).
    #[inline]
    fn day_offset(&self, date: Date) -> i64 {
        let month = (i32::from(date.year()) - self.first_year) * 12 + i32::from(date.month()) - 1;
        match usize::try_from(month).ok().and_then(|m| self.month_starts.get(m)) {
            Some(start) => start + i64::from(date.day()) - 1,
            None => day_number(date) - self.first_day,
        }
    }

    /// The latest day index from `start` back to `oldest` on which both currencies have a pivot rate.
    fn latest_quoting_both(
        &self,
        from: Currency,
        to: Currency,
        start: u32,
        oldest: i64,
    ) -> Option<(u32, Decimal, Decimal)> {
        let (from_column, to_column) = (self.column(from)?, self.column(to)?);
        let mut k = start;
        // Bounded: `k` only decreases, and stops at `oldest` or 0.
        while i64::from(k) >= oldest {
            let (f, t) = (self.cells[from_column + k as usize], self.cells[to_column + k as usize]);
            if f.day == k && t.day == k {
                return Some((k, self.rate(f), self.rate(t)));
            }
            k = k.checked_sub(1)?;
        }
        None
    }

    /// A cell's rate.
    #[inline]
    fn rate(&self, cell: Cell) -> Decimal {
        if cell.scale == BIG {
            // Built together: every BIG cell's mantissa indexes `big_rates`.
            self.big_rates[cell.mantissa as usize]
        } else {
            fixed::from_u64(cell.mantissa, false, u32::from(cell.scale))
        }
    }

    /// The offset of a currency's column in `cells`.
    fn column(&self, currency: Currency) -> Option<usize> {
        let c = self.column_of[currency.ordinal()];
        (c != u16::MAX).then(|| usize::from(c) * self.days)
    }

    /// The latest pivot rate of `currency` at or before day `d` within `max_age_days` (the pivot itself:
    /// `Some(None)`, every day); `None` when there is none.
    #[inline]
    fn as_of(&self, currency: Currency, d: i64, max_age_days: u32) -> Option<Option<Cell>> {
        if currency == self.pivot {
            return Some(None);
        }
        let column = self.column(currency)?;
        let clamped = usize::try_from(d.min(self.days as i64 - 1)).ok()?;
        let cell = self.cells[column + clamped];
        (cell.day != NONE && d - i64::from(cell.day) <= i64::from(max_age_days)).then_some(Some(cell))
    }
}

impl RateTable {
    /// Builds a table. The same rate published twice is kept once; two different rates for the same
    /// pair and date are a conflict.
    pub fn new(rates: impl IntoIterator<Item = Rate>) -> Result<RateTable, FxError> {
        let mut table = RateTable::default();
        // Sources are few (ECB, a central bank or two): intern each once, not once per rate.
        let mut last_source: Option<RateSource> = None;
        // Files group their rates by date: fill one day's map at a time (taken out of the table and put
        // back when the date changes), not one date search per rate.
        let mut day_date: Option<Date> = None;
        let mut day: BTreeMap<(Currency, Currency), Published> = BTreeMap::new();
        for rate in rates {
            if day_date != Some(rate.date) {
                if let Some(date) = day_date {
                    table.by_date.insert(date, std::mem::take(&mut day));
                }
                day = table.by_date.remove(&rate.date).unwrap_or_default();
                day_date = Some(rate.date);
            }
            match day.entry((rate.base, rate.quote)) {
                std::collections::btree_map::Entry::Occupied(existing) if existing.get().rate != rate.rate => {
                    let existing = existing.get();
                    return Err(FxError::Conflict(Box::new(RateConflict {
                        date: rate.date,
                        base: rate.base,
                        quote: rate.quote,
                        first: existing.rate,
                        first_at: existing.provenance.clone(),
                        second: rate.rate,
                        second_at: rate.provenance,
                    })));
                }
                std::collections::btree_map::Entry::Occupied(_) => {}
                std::collections::btree_map::Entry::Vacant(vacant) => {
                    let source = match last_source {
                        Some(s) if s == *rate.source => s,
                        _ => RateSource::intern(&rate.source),
                    };
                    last_source = Some(source);
                    vacant.insert(Published { rate: rate.rate, source, provenance: rate.provenance });
                }
            }
        }
        if let Some(date) = day_date {
            table.by_date.insert(date, day);
        }
        table.index = PivotIndex::build(&table.by_date);
        Ok(table)
    }

    /// Checks every published rate: within `RATE_MIN..=RATE_MAX` (or its inverse), and no further than
    /// `max_change_percent` per week between them (at least one week) from the same pair's previous
    /// published rate. The first rate that is not is
    /// the error, naming where it was read.
    pub fn check_plausible(&self, max_change_percent: Decimal) -> Result<(), FxError> {
        let mut previous: BTreeMap<(Currency, Currency), (Date, Decimal, &Provenance)> = BTreeMap::new();
        let hundred = Decimal::ONE_HUNDRED;
        for (date, day) in &self.by_date {
            for (&(base, quote), published) in day {
                let rate = published.rate;
                let implausible = |previous: Option<(Date, Decimal, Provenance)>, change: Decimal| {
                    FxError::Implausible(Box::new(ImplausibleRate {
                        at: published.provenance.clone(),
                        date: *date,
                        base,
                        quote,
                        rate,
                        previous,
                        change,
                        limit: max_change_percent,
                    }))
                };
                // A pair may be quoted either way round: the range is symmetric under inversion.
                let in_range = (RATE_MIN..=RATE_MAX).contains(&rate)
                    || Decimal::ONE.checked_div(rate).is_some_and(|inverse| (RATE_MIN..=RATE_MAX).contains(&inverse));
                if !in_range {
                    return Err(implausible(None, Decimal::ZERO));
                }
                if let Some(&(last_date, last, at)) = previous.get(&(base, quote)) {
                    // Both within the range above: the quotient and the product stay far inside Decimal.
                    let change = ((rate / last - Decimal::ONE) * hundred).abs();
                    // The band is per week between the two publications (a file with gaps, such as an
                    // extract of a few days a year, moves further between its rows).
                    let weeks = ((day_number(*date) - day_number(last_date) + 6) / 7).max(1);
                    let allowed = max_change_percent.saturating_mul(Decimal::from(weeks));
                    if change > allowed {
                        let change = change.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::AwayFromZero);
                        return Err(implausible(Some((last_date, last, at.clone())), change));
                    }
                }
                previous.insert((base, quote), (*date, rate, &published.provenance));
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.by_date.values().map(BTreeMap::len).sum()
    }

    /// The same table without its index: lookups walk the dated map (for tests that hold the index to
    /// the map's answers).
    #[cfg(test)]
    fn without_index(&self) -> RateTable {
        RateTable { by_date: self.by_date.clone(), index: None }
    }

    pub fn is_empty(&self) -> bool {
        self.by_date.is_empty()
    }

    fn on_date(&self, date: Date, from: Currency, to: Currency) -> Option<(Decimal, RateSource, RatePath)> {
        let day = self.by_date.get(&date)?;
        if let Some(p) = day.get(&(from, to)) {
            return Some((p.rate, p.source, RatePath::Direct));
        }
        if let Some(p) = day.get(&(to, from)) {
            return Some((Decimal::ONE.checked_div(p.rate)?, p.source, RatePath::Inverse));
        }
        // Cross through the first base (in code order) quoting both currencies that day.
        for ((base, quote), leg_from) in day {
            if *quote != from {
                continue;
            }
            if let Some(leg_to) = day.get(&(*base, to)) {
                let rate = leg_to.rate.checked_div(leg_from.rate)?;
                let source = if leg_from.source == leg_to.source {
                    leg_from.source
                } else {
                    RateSource::intern(&format!("{}+{}", leg_from.source, leg_to.source))
                };
                return Some((rate, source, RatePath::Cross { via: *base }));
            }
        }
        None
    }

    /// The rate from `from` to `to` on `date`, or on the latest earlier date within `max_age_days`.
    pub fn lookup(&self, from: Currency, to: Currency, date: Date, max_age_days: u32) -> Result<AppliedRate, FxError> {
        if from == to {
            return Ok(AppliedRate {
                from,
                to,
                rate: Decimal::ONE,
                requested_date: date,
                rate_date: date,
                source: RateSource::intern("identity"),
                path: RatePath::Direct,
            });
        }
        for currency in [from, to] {
            if let Some(last_date) = ecb::ecb_last_quote(currency).filter(|last| *last < date) {
                let last_rate = self.last_on_or_before(currency, last_date).map(|(_, r)| r);
                return Err(FxError::Discontinued { currency, requested: date, last_date, last_rate });
            }
        }
        if let Some(applied) = self.index.as_ref().and_then(|ix| ix.lookup(from, to, date, max_age_days)) {
            return Ok(applied);
        }
        let mut day = date;
        for _ in 0..=max_age_days {
            if let Some((rate, source, path)) = self.on_date(day, from, to) {
                return Ok(AppliedRate { from, to, rate, requested_date: date, rate_date: day, source, path });
            }
            day = match day.yesterday() {
                Ok(d) => d,
                Err(_) => break,
            };
        }
        let last = self.last_pair_rate(from, to, date);
        Err(FxError::NoRate { from, to, requested: date, max_age_days, last })
    }

    /// The latest rate of `from`/`to` on or before `date`, however old (for error messages).
    fn last_pair_rate(&self, from: Currency, to: Currency, date: Date) -> Option<(Date, Decimal)> {
        self.by_date.range(..=date).rev().find_map(|(day, _)| self.on_date(*day, from, to).map(|(r, _, _)| (*day, r)))
    }

    /// The latest date on or before `date` with a rate quoting `currency`, and that rate.
    fn last_on_or_before(&self, currency: Currency, date: Date) -> Option<(Date, Decimal)> {
        self.by_date.range(..=date).rev().find_map(|(day, rates)| {
            rates.iter().find(|((_, quote), _)| *quote == currency).map(|(_, p)| (*day, p.rate))
        })
    }

    /// Every published rate on `date` (base, quote, rate, source), in code order.
    pub fn published_on(&self, date: Date) -> Vec<(Currency, Currency, Decimal, String)> {
        self.by_date
            .get(&date)
            .map(|day| day.iter().map(|((b, q), p)| (*b, *q, p.rate, p.source.to_string())).collect())
            .unwrap_or_default()
    }

    /// The latest date on or before `date` that has rates.
    pub fn latest_date_on_or_before(&self, date: Date) -> Option<Date> {
        self.by_date.range(..=date).next_back().map(|(d, _)| *d)
    }

    /// Converts `money` into `to` at the rate for `date` under `policy`.
    #[inline]
    pub fn convert(
        &self,
        money: Money,
        to: Currency,
        date: Date,
        policy: ConversionPolicy,
    ) -> Result<Conversion, FxError> {
        match self.index.as_ref().and_then(|ix| ix.convert_from_pivot(money, to, date, policy)) {
            Some(conversion) => Ok(conversion),
            None => self.convert_looked_up(money, to, date, policy),
        }
    }

    /// `convert` through `lookup`: every path and error (kept out of line so the fast path inlines).
    #[inline(never)]
    fn convert_looked_up(
        &self,
        money: Money,
        to: Currency,
        date: Date,
        policy: ConversionPolicy,
    ) -> Result<Conversion, FxError> {
        let rate = self.lookup(money.currency(), to, date, policy.max_rate_age_days)?;
        convert_at(money, rate, policy.rounding)
    }
}

/// Converts at a given rate: `to = round(from × rate)`, recording the residual.
#[inline]
pub fn convert_at(money: Money, rate: AppliedRate, rounding: RoundingMode) -> Result<Conversion, FxError> {
    let in_u64 = fixed::magnitude_u64(rate.rate).filter(|_| rate.rate.is_sign_positive()).and_then(|m| {
        let units = u32::from(rate.to.minor_units()?);
        fixed::multiply_rounded(money.amount(), m, rate.rate.scale(), units, rounding)
    });
    if let Some((to, unrounded, residual)) = in_u64 {
        return Ok(Conversion { from: money, to: Money::new(to, rate.to), unrounded, residual, rate, rounding });
    }
    match convert_in_integers(money.amount(), rate.rate, rate.to, rounding) {
        Some((to, unrounded, residual)) => Ok(Conversion { from: money, to, unrounded, residual, rate, rounding }),
        None => convert_in_decimals(money, rate, rounding),
    }
}

/// `convert_at` for amounts and rates beyond 64-bit mantissas.
#[cold]
fn convert_in_decimals(money: Money, rate: AppliedRate, rounding: RoundingMode) -> Result<Conversion, FxError> {
    let money_error = |source| FxError::Money { money, source };
    let unrounded = money
        .amount()
        .checked_mul(rate.rate)
        .ok_or_else(|| money_error(MoneyError::Overflow { operation: "conversion", currency: rate.to }))?;
    let rounded = Money::new(unrounded, rate.to).round_with_residual(rounding).map_err(money_error)?;
    Ok(Conversion { from: money, to: rounded.money, unrounded, residual: rounded.residual, rate, rounding })
}

/// The largest magnitude of a decimal's 96-bit mantissa, plus one.
const MANTISSA_LIMIT: i128 = 1 << 96;

/// `convert_at`'s arithmetic in 128-bit integers when amount and rate have 64-bit mantissas: the same
/// values and scales as the `Decimal` path (a proptest holds them equal), without its general cases.
/// `None` when the inputs or results fall outside that range.
#[inline]
fn convert_in_integers(
    amount: Decimal,
    rate: Decimal,
    to: Currency,
    rounding: RoundingMode,
) -> Option<(Money, Decimal, Decimal)> {
    let units = u32::from(to.minor_units()?);
    let (a, r) = (i64::try_from(amount.mantissa()).ok()?, i64::try_from(rate.mantissa()).ok()?);
    let scale = amount.scale() + rate.scale();
    if scale > 28 {
        return None;
    }
    let product = i128::from(a) * i128::from(r);
    if product.abs() >= MANTISSA_LIMIT {
        return None;
    }
    let unrounded = fixed::from_i128(product, scale);
    if scale <= units {
        // Nothing to round: the rounded amount is the product at the minor units, residual zero at them.
        let widened = product.checked_mul(10i128.pow(units - scale))?;
        if widened.abs() >= MANTISSA_LIMIT {
            return None;
        }
        return Some((Money::new(fixed::from_i128(widened, units), to), unrounded, Decimal::new(0, units)));
    }
    let divisor = 10i128.pow(scale - units);
    let (quotient, remainder) = (product / divisor, (product % divisor).abs());
    let rounded =
        if rounding.rounds_away(quotient, remainder, divisor) { quotient + product.signum() } else { quotient };
    let residual = product - rounded * divisor;
    Some((Money::new(fixed::from_i128(rounded, units), to), unrounded, fixed::from_i128(residual, scale)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use settle_core::parse_date;

    fn cur(c: &str) -> Currency {
        Currency::from_code(c).unwrap()
    }
    fn rate(date: &str, base: &str, quote: &str, value: &str) -> Rate {
        Rate {
            date: parse_date(date).unwrap(),
            base: cur(base),
            quote: cur(quote),
            rate: value.parse().unwrap(),
            source: "ECB".into(),
            provenance: Provenance::line("rates.csv", 2),
        }
    }
    fn table() -> RateTable {
        RateTable::new([
            rate("2026-10-30", "EUR", "USD", "1.0862"),
            rate("2026-10-30", "EUR", "JPY", "164.17"),
            rate("2026-10-29", "EUR", "USD", "1.0850"),
        ])
        .unwrap()
    }
    const POLICY: ConversionPolicy = ConversionPolicy { max_rate_age_days: 4, rounding: RoundingMode::HalfEven };

    #[test]
    fn implausible_rates_are_refused_naming_where_they_were_read() {
        let limit = DEFAULT_MAX_RATE_CHANGE_PERCENT;
        let plausible = RateTable::new([
            rate("2026-10-29", "EUR", "SEK", "11.4710"),
            rate("2026-10-30", "EUR", "SEK", "11.9000"),
            rate("2026-10-30", "EUR", "KWD", "0.3320"),
            rate("2026-10-30", "EUR", "IDR", "17950.12"),
        ])
        .unwrap();
        plausible.check_plausible(limit).unwrap();
        // The SEK of 10^12: out of range, whatever came before.
        let absurd = RateTable::new([rate("2026-10-30", "EUR", "SEK", "1000000000000")]).unwrap();
        let e = absurd.check_plausible(limit).unwrap_err().to_string();
        assert!(e.starts_with("rates.csv:2: EUR/SEK rate 1000000000000 on 2026-10-30 is outside"), "{e}");
        let tiny = RateTable::new([rate("2026-10-30", "EUR", "SEK", "0.0000000001")]).unwrap();
        assert!(tiny.check_plausible(limit).is_err());
        // A jump of 30 % against the day before: above the default band, below a raised one.
        let jump =
            RateTable::new([rate("2026-10-29", "EUR", "SEK", "11.00"), rate("2026-10-30", "EUR", "SEK", "14.30")])
                .unwrap();
        let e = jump.check_plausible(limit).unwrap_err().to_string();
        assert!(e.contains("EUR/SEK rate 14.30 on 2026-10-30 is 30.00% away from 11.00 on 2026-10-29"), "{e}");
        assert!(e.contains("allows 25% a week (fx.max_rate_change_percent)"), "{e}");
        // Ten months apart (an extract of a few days a year): the band is per week.
        let apart =
            RateTable::new([rate("2022-03-02", "EUR", "TRY", "15.628"), rate("2022-12-29", "EUR", "TRY", "19.934")])
                .unwrap();
        apart.check_plausible(limit).unwrap();
        jump.check_plausible(Decimal::from(31)).unwrap();
        // A fall is measured the same way: 11 → 8 is −27.27…%.
        let fall =
            RateTable::new([rate("2026-10-29", "EUR", "SEK", "11"), rate("2026-10-30", "EUR", "SEK", "8")]).unwrap();
        assert!(fall.check_plausible(limit).unwrap_err().to_string().contains("27.28% away"));
    }

    #[test]
    fn direct_inverse_cross_and_fallback() {
        let t = table();
        let sat = parse_date("2026-10-31").unwrap();
        let eur = Money::new("100.00".parse().unwrap(), cur("EUR"));
        let c = t.convert(eur, cur("USD"), sat, POLICY).unwrap();
        assert_eq!(c.to.amount().to_string(), "108.62");
        assert_eq!(c.rate.rate_date.to_string(), "2026-10-30");
        assert!(c.rate.is_fallback());
        assert_eq!(c.rate.path, RatePath::Direct);

        let usd = Money::new("108.62".parse().unwrap(), cur("USD"));
        let back = t.convert(usd, cur("EUR"), sat, POLICY).unwrap();
        assert_eq!(back.rate.path, RatePath::Inverse);
        assert_eq!(back.to.amount().to_string(), "100.00");

        let jpy = Money::new("10000".parse().unwrap(), cur("JPY"));
        let cross = t.convert(jpy, cur("USD"), sat, POLICY).unwrap();
        assert_eq!(cross.rate.path, RatePath::Cross { via: cur("EUR") });
        // 10000 × 1.0862 / 164.17 = 66.1631..., rounded half-even
        assert_eq!(cross.to.amount().to_string(), "66.16");
        assert_eq!(cross.unrounded - cross.to.amount(), cross.residual);

        let too_old = t.lookup(cur("EUR"), cur("USD"), parse_date("2026-11-10").unwrap(), 4).unwrap_err();
        assert!(too_old.to_string().starts_with("no EUR/USD rate on 2026-11-10 or in the 4 calendar days"));
        assert!(t.lookup(cur("EUR"), cur("GBP"), sat, 4).is_err());
    }

    #[test]
    fn rates_beyond_64_bit_mantissas_are_indexed_and_convert_as_the_map_does() {
        // 26 significant digits (a computed cross rate someone published): kept whole, not truncated.
        let t = RateTable::new([
            rate("2026-10-29", "EUR", "USD", "1.0850"),
            rate("2026-10-30", "EUR", "USD", "1.0862000000000000000000001"),
            rate("2026-10-30", "EUR", "JPY", "164.17"),
        ])
        .unwrap();
        let plain = t.without_index();
        let eur = Money::new("100.00".parse().unwrap(), cur("EUR"));
        for day in ["2026-10-29", "2026-10-30", "2026-11-01"] {
            let day = parse_date(day).unwrap();
            for to in ["USD", "JPY"] {
                assert_eq!(t.convert(eur, cur(to), day, POLICY), plain.convert(eur, cur(to), day, POLICY));
            }
        }
        let c = t.convert(eur, cur("USD"), parse_date("2026-10-31").unwrap(), POLICY).unwrap();
        assert_eq!(c.rate.rate.to_string(), "1.0862000000000000000000001");
        assert_eq!(
            (c.to.amount().to_string(), c.residual.to_string()),
            ("108.62".into(), "0.00000000000000000000001000".into())
        );
    }

    #[test]
    fn conflicting_rates_are_an_error_and_duplicates_are_not() {
        assert!(
            RateTable::new([rate("2026-10-30", "EUR", "USD", "1.0862"), rate("2026-10-30", "EUR", "USD", "1.08620")])
                .is_ok()
        );
        let err =
            RateTable::new([rate("2026-10-30", "EUR", "USD", "1.0862"), rate("2026-10-30", "EUR", "USD", "1.0863")])
                .unwrap_err();
        assert!(err.to_string().starts_with("conflicting rates for EUR/USD on 2026-10-30"));
        // The error names the earliest conflicting rate in input order, whichever pair sorts first, and
        // a date that comes back later in the input is checked against what it had.
        let at = |r: Rate, line| Rate { provenance: Provenance::line("rates.csv", line), ..r };
        let err = RateTable::new([
            at(rate("2026-10-30", "EUR", "USD", "1.0862"), 2),
            at(rate("2026-10-30", "EUR", "JPY", "164.17"), 3),
            at(rate("2026-10-30", "EUR", "USD", "1.0862"), 4),
            at(rate("2026-10-30", "EUR", "USD", "1.0863"), 5),
            at(rate("2026-10-30", "EUR", "JPY", "164.18"), 6),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "conflicting rates for EUR/USD on 2026-10-30: 1.0862 at rates.csv:2 and 1.0863 at rates.csv:5"
        );
        let err = RateTable::new([
            at(rate("2026-10-30", "EUR", "USD", "1.0862"), 2),
            at(rate("2026-10-29", "EUR", "USD", "1.0850"), 3),
            at(rate("2026-10-30", "EUR", "USD", "1.0862"), 4),
            at(rate("2026-10-30", "EUR", "USD", "1.0864"), 5),
        ])
        .unwrap_err();
        assert!(err.to_string().ends_with("1.0862 at rates.csv:2 and 1.0864 at rates.csv:5"), "{err}");
    }

    proptest! {
        #[test]
        fn conversion_records_an_exact_residual(minor in -1_000_000_000_000i64..1_000_000_000_000i64, rate_minor in 1u32..10_000_000) {
            let r = AppliedRate {
                from: cur("EUR"), to: cur("JPY"), rate: Decimal::new(i64::from(rate_minor), 4),
                requested_date: parse_date("2026-10-30").unwrap(), rate_date: parse_date("2026-10-30").unwrap(),
                source: "ECB".into(), path: RatePath::Direct,
            };
            let money = Money::new(Decimal::new(minor, 2), cur("EUR"));
            let c = convert_at(money, r, RoundingMode::HalfEven).unwrap();
            prop_assert_eq!(c.to.amount() + c.residual, money.amount() * Decimal::new(i64::from(rate_minor), 4));
            prop_assert_eq!(c.to.amount().scale(), 0);
            prop_assert!(c.residual.abs() <= Decimal::new(5, 1));
        }

        /// A→B→A at the same day's rates stays within one minor unit of A for every rounding mode, once
        /// the round trip's own magnification (one unit of B is worth 1/rate units of A) is allowed for.
        #[test]
        fn a_round_trip_stays_within_one_minor_unit(
            minor in 1i64..10_000_000_000,
            rate_minor in 1_000u32..5_000_000,
            pair in prop::sample::select(vec![("EUR", "USD"), ("EUR", "JPY"), ("JPY", "KWD"), ("KWD", "CLF"), ("USD", "EUR")]),
            mode in prop::sample::select(vec![RoundingMode::HalfEven, RoundingMode::HalfUp, RoundingMode::Down, RoundingMode::Up]),
        ) {
            let (a, b) = (cur(pair.0), cur(pair.1));
            let rate = Decimal::new(i64::from(rate_minor), 4);
            let day = parse_date("2025-05-09").unwrap();
            let forward = AppliedRate { from: a, to: b, rate, requested_date: day, rate_date: day, source: "test".into(), path: RatePath::Direct };
            let back = AppliedRate { from: b, to: a, rate: Decimal::ONE / rate, path: RatePath::Inverse, ..forward };
            let units = |c: Currency| Decimal::new(1, u32::from(c.minor_units().unwrap()));
            let money = Money::from_minor_units(i128::from(minor), a).unwrap();
            let there = convert_at(money, forward, mode).unwrap();
            let again = convert_at(there.to, back, mode).unwrap();
            // Rounding in B moves the result by at most one unit of B, worth 1/rate in A, plus A's own unit.
            let bound = units(b) / rate + units(a);
            prop_assert!((again.to.amount() - money.amount()).abs() <= bound, "{} → {} → {}", money, there.to, again.to);
        }

        /// The integer path gives what the `Decimal` path gives: amounts, scales, residuals.
        #[test]
        fn integer_conversion_is_decimal_conversion(
            amount in any::<i64>(), amount_scale in 0u32..=6,
            rate in 1i64..1_000_000_000_000, rate_scale in 0u32..=12,
            target in prop::sample::select(vec!["JPY", "EUR", "KWD", "CLF"]),
            mode in prop::sample::select(vec![RoundingMode::HalfEven, RoundingMode::HalfUp, RoundingMode::Down, RoundingMode::Up]),
        ) {
            let (amount, rate, to) = (Decimal::new(amount, amount_scale), Decimal::new(rate, rate_scale), cur(target));
            if let Some((money, unrounded, residual)) = convert_in_integers(amount, rate, to, mode) {
                let slow_unrounded = amount.checked_mul(rate).unwrap();
                let slow = Money::new(slow_unrounded, to).round_with_residual(mode).unwrap();
                prop_assert_eq!((money.amount(), money.amount().scale()), (slow.money.amount(), slow.money.amount().scale()));
                prop_assert_eq!((unrounded, unrounded.scale()), (slow_unrounded, slow_unrounded.scale()));
                prop_assert_eq!((residual, residual.scale()), (slow.residual, slow.residual.scale()));
                prop_assert_eq!(residual.is_sign_negative(), slow.residual.is_sign_negative());
                prop_assert_eq!(money.amount().is_sign_negative(), slow.money.amount().is_sign_negative());
            }
        }

        /// Conversion is monotonic in the amount, and results carry the target's minor units.
        #[test]
        fn conversion_is_monotonic_and_in_minor_units(
            x in -10_000_000_000i64..10_000_000_000,
            step in 0i64..1_000_000,
            rate_minor in 1u32..50_000_000,
            target in prop::sample::select(vec!["JPY", "EUR", "KWD", "CLF"]),
            mode in prop::sample::select(vec![RoundingMode::HalfEven, RoundingMode::HalfUp, RoundingMode::Down, RoundingMode::Up]),
        ) {
            let to = cur(target);
            let day = parse_date("2025-05-09").unwrap();
            let rate = AppliedRate { from: cur("USD"), to, rate: Decimal::new(i64::from(rate_minor), 5), requested_date: day, rate_date: day, source: "test".into(), path: RatePath::Direct };
            let low = convert_at(Money::new(Decimal::new(x, 2), cur("USD")), rate, mode).unwrap();
            let high = convert_at(Money::new(Decimal::new(x + step, 2), cur("USD")), rate, mode).unwrap();
            prop_assert!(low.to.amount() <= high.to.amount());
            let minor = u32::from(to.minor_units().unwrap());
            prop_assert_eq!(low.to.amount().scale(), minor);
            prop_assert_eq!(high.to.amount().scale(), minor);
        }
    }

    #[test]
    fn half_even_ties_go_to_the_even_unit() {
        let day = parse_date("2025-05-09").unwrap();
        let at = |amount: &str, mode| {
            let rate = AppliedRate {
                from: cur("EUR"),
                to: cur("JPY"),
                rate: Decimal::new(5, 1),
                requested_date: day,
                rate_date: day,
                source: "t".into(),
                path: RatePath::Direct,
            };
            convert_at(Money::new(amount.parse().unwrap(), cur("EUR")), rate, mode).unwrap().to.amount().to_string()
        };
        // 5 × 0.5 = 2.5 → 2; 7 × 0.5 = 3.5 → 4; half-up gives 3 and 4.
        assert_eq!(at("5.00", RoundingMode::HalfEven), "2");
        assert_eq!(at("7.00", RoundingMode::HalfEven), "4");
        assert_eq!(at("5.00", RoundingMode::HalfUp), "3");
        assert_eq!(at("-5.00", RoundingMode::HalfEven), "-2");
    }
}
