//! The ECB readers and the as-of rules on real ECB data (fixtures/ecb, see fixtures/README.md).

use std::str::FromStr;

use settle_core::{Currency, Decimal, Money, RoundingMode, parse_date};

use crate::ecb::{RateFileFormat, read_ecb};
use crate::{ConversionPolicy, FxError, RateTable};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../fixtures/ecb/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}
fn cur(code: &str) -> Currency {
    Currency::from_code(code).unwrap()
}
fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}
fn history() -> RateTable {
    let file = read_ecb("eurofxref-hist-extract.csv", &fixture("eurofxref-hist-extract.csv")).unwrap();
    assert_eq!(file.format, RateFileFormat::EcbHistoryCsv);
    RateTable::new(file.rates).unwrap()
}

#[test]
fn the_history_csv_gives_the_published_figures() {
    let file = read_ecb("h.csv", &fixture("eurofxref-hist-extract.csv")).unwrap();
    // 17 days; every currency with a figure that day (N/A gaps and withdrawn currencies skipped).
    let per_day = |date: &str| file.rates.iter().filter(|r| r.date == parse_date(date).unwrap()).count();
    assert_eq!(per_day("2025-05-09"), 30);
    assert_eq!(per_day("2022-12-30"), 31, "HRK still quoted");
    assert_eq!(per_day("2022-03-01"), 32, "HRK and RUB quoted");
    // The old Romanian leu (replaced in 2005) is not in settle's ISO 4217 table: its column is reported.
    assert_eq!(file.unknown_currencies, ["ROL"]);
    let table = RateTable::new(file.rates.clone()).unwrap();
    let on = |code: &str, date: &str| table.lookup(cur("EUR"), cur(code), parse_date(date).unwrap(), 0).unwrap().rate;
    assert_eq!(on("USD", "2025-05-09"), d("1.1252"));
    assert_eq!(on("JPY", "2025-04-17"), d("161.98"));
    assert_eq!(on("GBP", "2025-04-23"), d("0.85793"), "five decimals kept");
    assert_eq!(on("HRK", "2022-12-30"), d("7.5365"));
    assert_eq!(on("RUB", "2022-03-01"), d("117.201"));
    let first = &file.rates[0];
    assert_eq!(first.provenance.to_string(), "h.csv:2");
    assert_eq!(first.source, "ECB");
}

#[test]
fn weekends_and_easter_fall_back_to_the_last_published_day() {
    let t = history();
    let eur_usd = |date: &str, max_age: u32| t.lookup(cur("EUR"), cur("USD"), parse_date(date).unwrap(), max_age);
    // Saturday 10 May 2025 → Friday's rate.
    let sat = eur_usd("2025-05-10", 4).unwrap();
    assert_eq!((sat.rate, sat.rate_date.to_string()), (d("1.1252"), "2025-05-09".into()));
    assert!(sat.is_fallback());
    // Easter Monday 21 April 2025: Good Friday and Easter Monday are TARGET holidays → Thursday 17th.
    let easter = eur_usd("2025-04-21", 4).unwrap();
    assert_eq!((easter.rate, easter.rate_date.to_string()), (d("1.136"), "2025-04-17".into()));
    // Four days back is the limit here: with three the conversion is an error naming the last quote.
    let e = eur_usd("2025-04-21", 3).unwrap_err().to_string();
    assert!(e.contains("no EUR/USD rate on 2025-04-21") && e.contains("the last one is 1.136 on 2025-04-17"), "{e}");
}

#[test]
fn discontinued_currencies_are_errors_after_their_last_quote() {
    let t = history();
    let e = t.lookup(cur("EUR"), cur("HRK"), parse_date("2023-01-02").unwrap(), 4).unwrap_err();
    assert!(matches!(e, FxError::Discontinued { .. }), "{e:?}");
    let e = e.to_string();
    assert!(
        e.contains("HRK") && e.contains("after 2022-12-30") && e.contains("7.5365") && e.contains("2023-01-02"),
        "{e}"
    );
    let e = t.lookup(cur("USD"), cur("RUB"), parse_date("2022-03-02").unwrap(), 4).unwrap_err().to_string();
    assert!(e.contains("RUB") && e.contains("after 2022-03-01") && e.contains("117.201"), "{e}");
    // On its last day it converts.
    assert_eq!(t.lookup(cur("EUR"), cur("HRK"), parse_date("2022-12-30").unwrap(), 4).unwrap().rate, d("7.5365"));
}

#[test]
fn cross_rates_and_rounding_to_the_target_minor_units() {
    let t = history();
    let policy = ConversionPolicy { max_rate_age_days: 4, rounding: RoundingMode::HalfEven };
    let date = parse_date("2025-05-09").unwrap();
    let yen = t.convert(Money::new(d("100.00"), cur("EUR")), cur("JPY"), date, policy).unwrap();
    assert_eq!(yen.to.amount().to_string(), "16336");
    let usd_jpy = t.lookup(cur("USD"), cur("JPY"), date, 0).unwrap();
    assert_eq!(usd_jpy.rate, d("163.36") / d("1.1252"));
    let c = t.convert(Money::new(d("250.00"), cur("USD")), cur("JPY"), date, policy).unwrap();
    assert_eq!(c.to.amount().scale(), 0);
    assert_eq!(c.unrounded - c.to.amount(), c.residual);
}

#[test]
fn the_daily_csv_and_the_xml_feed() {
    let daily = read_ecb("eurofxref.csv", &fixture("eurofxref-2024-09-26.csv")).unwrap();
    assert_eq!(daily.format, RateFileFormat::EcbDailyCsv);
    assert_eq!(daily.rates.len(), 30);
    let pln = daily.rates.iter().find(|r| r.quote == cur("PLN")).unwrap();
    assert_eq!((pln.date.to_string(), pln.rate.to_string()), ("2024-09-26".into(), "4.2710".into()));
    let xml = read_ecb("eurofxref-daily.xml", &fixture("eurofxref-daily-2022-07-08.xml")).unwrap();
    assert_eq!(xml.format, RateFileFormat::EcbXml);
    assert_eq!(xml.rates.len(), 31);
    let usd = xml.rates.iter().find(|r| r.quote == cur("USD")).unwrap();
    assert_eq!((usd.date.to_string(), usd.rate), ("2022-07-08".into(), d("1.0163")));
    assert_eq!(usd.provenance.to_string(), "eurofxref-daily.xml at Cube[1]/Cube[@currency='USD']");
}

#[test]
fn bad_files_name_line_column_and_what_was_expected() {
    let bad = b"Date,USD,JPY,\n2025-05-09,1.1252,1x3,\n";
    let e = read_ecb("h.csv", bad).unwrap_err().to_string();
    assert_eq!(
        e,
        "h.csv:2: column `JPY`: \"1x3\": expected a rate > 0 in plain digits with at most one '.' (no sign, no exponent), or N/A"
    );
    // Exponents are refused, as in amounts (`1e12` would be read as 10^12).
    for cell in ["1e12", "1E3", "1.2e-3", "-1.1", "+1.1", "0", "0.000", "1.2.3", "NaN"] {
        let bad = format!("Date,USD,SEK,\n2025-05-09,1.1252,{cell},\n");
        let e = read_ecb("h.csv", bad.as_bytes()).unwrap_err().to_string();
        assert!(e.starts_with("h.csv:2: column `SEK`"), "{cell}: {e}");
        let xml = format!(
            "<gesmes:Envelope><Cube><Cube time='2025-05-09'><Cube currency='SEK' rate='{cell}'/></Cube></Cube></gesmes:Envelope>"
        );
        let e = read_ecb("x.xml", xml.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("SEK rate") && e.contains("no exponent"), "{cell}: {e}");
    }
    let e = read_ecb("h.csv", b"Date,USD,\n09/05/2025,1.1252,\n").unwrap_err().to_string();
    assert!(e.contains("h.csv:2: column `Date`") && e.contains("YYYY-MM-DD"), "{e}");
    let e = read_ecb("r.csv", b"date,base,quote,rate,source\n").unwrap_err().to_string();
    assert!(e.contains("not an ECB rate file"), "{e}");
    let e = read_ecb("x.xml", b"<Cube><Cube currency='USD' rate='1.1'/></Cube>").unwrap_err().to_string();
    assert!(e.contains("before any <Cube time"), "{e}");
}

proptest::proptest! {
    /// The index answers exactly as the dated map does: rate, rate date, path and errors alike.
    #[test]
    fn the_index_answers_as_the_dated_map(
        from in proptest::sample::select(vec!["EUR", "USD", "JPY", "HRK", "RUB", "GBP", "ISK"]),
        to in proptest::sample::select(vec!["EUR", "USD", "JPY", "HRK", "RUB", "GBP", "KRW"]),
        offset in 0i64..1300,
        max_age in 0u32..6,
        minor in -10_000_000_000i64..10_000_000_000,
        scale in 0u32..4,
        rounding in proptest::sample::select(vec![RoundingMode::HalfEven, RoundingMode::HalfUp, RoundingMode::Down, RoundingMode::Up]),
    ) {
        let t = history();
        let plain = t.without_index();
        let date = parse_date("2022-02-20").unwrap().checked_add(jiff::Span::new().days(offset)).unwrap();
        let (a, b) = (t.lookup(cur(from), cur(to), date, max_age), plain.lookup(cur(from), cur(to), date, max_age));
        proptest::prop_assert_eq!(a, b);
        // Conversions too (the index's direct fast path included): amounts, scales, residuals, errors.
        let money = Money::new(Decimal::new(minor, scale), cur(from));
        let policy = ConversionPolicy { max_rate_age_days: max_age, rounding };
        let (a, b) = (t.convert(money, cur(to), date, policy), plain.convert(money, cur(to), date, policy));
        if let (Ok(a), Ok(b)) = (&a, &b) {
            proptest::prop_assert_eq!(
                (a.to.amount().scale(), a.unrounded.scale(), a.residual.scale()),
                (b.to.amount().scale(), b.unrounded.scale(), b.residual.scale())
            );
        }
        proptest::prop_assert_eq!(a, b);
    }
}

/// A one-file zip archive of `data` named `name`, stored (0) or deflated (8).
fn zip(name: &str, data: &[u8], method: u16) -> Vec<u8> {
    let body = if method == 8 { miniz_oxide::deflate::compress_to_vec(data, 6) } else { data.to_vec() };
    let crc = crc32fast::hash(data);
    let mut out = Vec::new();
    let push16 = |out: &mut Vec<u8>, v: u16| out.extend_from_slice(&v.to_le_bytes());
    let push32 = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
    out.extend_from_slice(b"PK\x03\x04");
    for v in [20, 0, method, 0, 0] {
        push16(&mut out, v);
    }
    for v in [crc, body.len() as u32, data.len() as u32] {
        push32(&mut out, v);
    }
    push16(&mut out, name.len() as u16);
    push16(&mut out, 0);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&body);
    let central = out.len() as u32;
    out.extend_from_slice(b"PK\x01\x02");
    for v in [20, 20, 0, method, 0, 0] {
        push16(&mut out, v);
    }
    for v in [crc, body.len() as u32, data.len() as u32] {
        push32(&mut out, v);
    }
    for v in [name.len() as u16, 0, 0, 0, 0] {
        push16(&mut out, v);
    }
    push32(&mut out, 0);
    push32(&mut out, 0);
    out.extend_from_slice(name.as_bytes());
    let central_len = out.len() as u32 - central;
    out.extend_from_slice(b"PK\x05\x06");
    for v in [0, 0, 1, 1] {
        push16(&mut out, v);
    }
    push32(&mut out, central_len);
    push32(&mut out, central);
    push16(&mut out, 0);
    out
}

#[test]
fn the_history_zip_reads_as_its_csv() {
    let csv = fixture("eurofxref-hist-extract.csv");
    let plain = read_ecb("h.csv", &csv).unwrap();
    for method in [0, 8] {
        let archive = zip("eurofxref-hist.csv", &csv, method);
        let file = read_ecb("eurofxref-hist.zip", &archive).unwrap();
        assert_eq!(file.rates.len(), plain.rates.len());
        assert!(
            file.rates.iter().zip(&plain.rates).all(|(a, b)| (a.date, a.quote, a.rate) == (b.date, b.quote, b.rate))
        );
        assert_eq!(file.rates[0].provenance.to_string(), "eurofxref-hist.zip!eurofxref-hist.csv:2");
    }
    let mut broken = zip("eurofxref-hist.csv", &csv, 8);
    let middle = broken.len() / 2;
    broken[middle] ^= 0xFF;
    let e = read_ecb("x.zip", &broken).unwrap_err().to_string();
    assert!(e.contains("x.zip") && (e.contains("inflate") || e.contains("CRC-32")), "{e}");
    let e = read_ecb("x.zip", &broken[..40]).unwrap_err().to_string();
    assert!(e.contains("not a complete zip archive"), "{e}");
}
