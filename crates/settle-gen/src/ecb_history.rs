//! A synthetic ECB reference-rate history in the ECB's `eurofxref-hist.csv` layout (header with a
//! trailing comma, newest day first, weekends absent), for the FX benchmarks: about 7 300 days of 30
//! currencies is the size of the real file.

use settle_core::Date;

use crate::Rng;

/// The ECB's currencies of today, with a starting rate (units per EUR) and its published decimals.
const CURRENCIES: [(&str, i64, u32); 30] = [
    ("USD", 11252, 4),
    ("JPY", 16336, 2),
    ("BGN", 19558, 4),
    ("CZK", 24946, 3),
    ("DKK", 74604, 4),
    ("GBP", 84770, 5),
    ("HUF", 40490, 2),
    ("PLN", 42393, 4),
    ("RON", 51181, 4),
    ("SEK", 109200, 4),
    ("CHF", 9353, 4),
    ("ISK", 1469, 1),
    ("NOK", 116725, 4),
    ("TRY", 435999, 4),
    ("AUD", 17572, 4),
    ("BRL", 63647, 4),
    ("CAD", 15658, 4),
    ("CNY", 81470, 4),
    ("HKD", 87519, 4),
    ("IDR", 1860659, 2),
    ("ILS", 39928, 4),
    ("INR", 960755, 4),
    ("KRW", 157572, 2),
    ("MXN", 219473, 4),
    ("MYR", 48350, 4),
    ("NZD", 19095, 4),
    ("PHP", 62413, 3),
    ("SGD", 14600, 4),
    ("THB", 37132, 3),
    ("ZAR", 204835, 4),
];

/// The history CSV of `days` business days (Monday to Friday) ending on `last`, rates in a random walk
/// of ±0.3 % a day.
pub fn ecb_history_csv(days: u32, seed: u64, last: Date) -> String {
    let mut rng = Rng::new(seed).fork(0xECB);
    let mut out = String::with_capacity(days as usize * 260);
    out.push_str("Date,");
    for (code, _, _) in CURRENCIES {
        out.push_str(code);
        out.push(',');
    }
    out.push('\n');
    let mut rates: Vec<i64> = CURRENCIES.iter().map(|(_, start, _)| start * 10).collect();
    let mut day = last;
    let mut written = 0u32;
    while written < days {
        let weekday = day.weekday().to_monday_one_offset();
        if weekday <= 5 {
            out.push_str(&day.to_string());
            out.push(',');
            for (i, (_, _, decimals)) in CURRENCIES.iter().enumerate() {
                // One more digit than published, walked, then written at the published precision.
                rates[i] += rates[i] * rng.range(-30, 30) / 10_000;
                rates[i] = rates[i].max(10);
                let value = settle_core::Decimal::new(rates[i], decimals + 1).round_dp(*decimals);
                out.push_str(&value.to_string());
                out.push(',');
            }
            out.push('\n');
            written += 1;
        }
        day = match day.yesterday() {
            Ok(d) => d,
            Err(_) => break,
        };
    }
    out
}
