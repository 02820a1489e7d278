//! Profiles on real channel reports (../shared/samples/psp) and on generated files.

use std::path::PathBuf;
use std::str::FromStr;

use settle_core::{ChannelKind, Decimal};

use crate::{
    Profile, builtin_profiles, detect, header_of, read_shard_with_profile, read_with_profile, read_with_profile_threads,
};

fn samples() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/psp");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but {} is missing", dir.display());
    eprintln!("skipping: {} not found (outside CI)", dir.display());
    None
}

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn profile(name: &str) -> Profile {
    builtin_profiles().into_iter().find(|p| p.name == name).unwrap()
}

/// Detects the file's profile the way `--profile auto` does, and reads it.
fn read_auto(path: &std::path::Path) -> crate::ProfiledRead {
    let bytes = std::fs::read(path).unwrap();
    let profiles = builtin_profiles();
    let header = header_of("f", &bytes, 0, None).unwrap();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let p = detect(&profiles.iter().collect::<Vec<_>>(), &header).unwrap();
    read_with_profile(&path.display().to_string(), &bytes, p).unwrap()
}

fn sum(rows: &[settle_core::ChannelTransaction], kind: ChannelKind) -> Decimal {
    rows.iter().filter(|r| r.kind == kind).map(|r| r.net).sum()
}

#[test]
fn adyen_batch_380_adds_up_to_its_payout() {
    let Some(dir) = samples() else { return };
    let read = read_auto(&dir.join("adyen_settlement_detail_report_batch_380.csv"));
    assert_eq!(read.profile, "adyen_sdr");
    let rows = &read.channel_transactions;
    assert_eq!(rows.len(), 228);
    assert_eq!(rows.iter().filter(|r| r.kind == ChannelKind::Charge).count(), 220);
    assert_eq!(rows.iter().filter(|r| r.kind == ChannelKind::Refund).count(), 6);
    assert_eq!(sum(rows, ChannelKind::Charge), d("56438.52"));
    assert_eq!(sum(rows, ChannelKind::Refund), d("-1092.35"));
    assert_eq!(sum(rows, ChannelKind::Fee), d("-38.10"));
    assert_eq!(sum(rows, ChannelKind::Payout), d("-55308.07"));
    assert!(read.problems.is_empty(), "{:?}", read.problems);
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    // Every row: gross − fee = net, and the gross is the presentment amount at the stated rate.
    for r in rows {
        assert_eq!(r.gross - r.fee, r.net);
        assert!(r.batch_id.as_deref() == Some("380"));
    }
    let mc = &rows[0];
    assert_eq!((mc.gross, mc.fee, mc.net), (d("31.45"), d("0.30"), d("31.15")));
    assert_eq!(mc.fee_components.len(), 3);
    assert_eq!(mc.transaction_id, "7429098024927090");
    assert_eq!(mc.merchant_reference.as_deref(), Some("CM1000028854"));
    // Booking Date 2021-01-06 23:50:00 CET is 22:50 UTC.
    assert_eq!(mc.booked_at_utc.as_deref(), Some("2021-01-06T22:50:00Z"));
    assert_eq!(mc.booked_zone.as_deref(), Some("CET"));
    let payout = rows.iter().find(|r| r.kind == ChannelKind::Payout).unwrap();
    assert_eq!(payout.channel_type, "MerchantPayout");
    assert_eq!(payout.merchant_reference, None, "batch-level rows carry no order reference");
    assert!(payout.transaction_id.starts_with("380-MerchantPayout-L"), "{}", payout.transaction_id);
}

#[test]
fn adyen_batch_238_old_column_order_carries_its_balance() {
    let Some(dir) = samples() else { return };
    let read = read_auto(&dir.join("adyen_settlement_detail_report_batch_238.csv"));
    assert_eq!(read.profile, "adyen_sdr");
    let rows = &read.channel_transactions;
    assert_eq!(rows.len(), 3);
    let nets: Vec<Decimal> = rows.iter().map(|r| r.net).collect();
    assert_eq!(nets, [d("454331.99"), d("-0.09"), d("-454331.90")]);
    assert_eq!(nets.iter().copied().sum::<Decimal>(), Decimal::ZERO);
    assert_eq!(rows[0].kind, ChannelKind::Adjustment);
    // The older layout has only the creation date (CET): 2022-02-22 00:24:23 CET.
    assert_eq!(rows[0].booked_at_utc.as_deref(), Some("2022-02-21T23:24:23Z"));
    assert_ne!(rows[0].transaction_id, rows[2].transaction_id);
}

#[test]
fn paypal_activity_amounts_zones_and_conversion_pairs() {
    let Some(dir) = samples() else { return };
    let read = read_auto(&dir.join("paypal_activity_en.csv"));
    assert_eq!(read.profile, "paypal_activity");
    let rows = &read.channel_transactions;
    assert_eq!(rows.len(), 76);
    assert!(read.problems.is_empty(), "{:?}", read.problems);
    let first = &rows[0];
    assert_eq!((first.gross, first.fee, first.net), (d("84.00"), d("4.25"), d("79.75")));
    // 29/12/2015 07:45:51 PST is 15:45:51 UTC.
    assert_eq!(first.booked_at_utc.as_deref(), Some("2015-12-29T15:45:51Z"));
    let tid4 = rows.iter().find(|r| r.transaction_id == "TID4").unwrap();
    assert_eq!((tid4.gross, tid4.fee, tid4.net), (d("1653.75"), d("73.07"), d("1580.68")));
    assert_eq!(tid4.booked_at_utc.as_deref(), Some("2016-06-09T14:19:50Z"), "PDT is UTC-7");
    // The conversion pair links both ways.
    let (a, b) = (
        rows.iter().find(|r| r.transaction_id == "TID2").unwrap(),
        rows.iter().find(|r| r.transaction_id == "TID3").unwrap(),
    );
    assert_eq!(a.kind, ChannelKind::CurrencyConversion);
    assert_eq!(a.related_transaction_id.as_deref(), Some("TID3"));
    assert_eq!(b.related_transaction_id.as_deref(), Some("TID2"));
    assert_eq!((a.net, a.settlement_currency.code()), (d("-50.00"), "USD"));
    assert_eq!((b.net, b.settlement_currency.code()), (d("43.34"), "EUR"));
    let kinds: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), ["charge", "currency_conversion", "payout", "reserve"]);
}

#[test]
fn paypal_statements_english_and_spanish() {
    let Some(dir) = samples() else { return };
    let en = read_auto(&dir.join("paypal_statement_en.csv"));
    assert_eq!(en.profile, "paypal_statement_en");
    assert!(en.problems.is_empty(), "{:?}", en.problems);
    let first = &en.channel_transactions[0];
    assert_eq!((first.net, first.kind), (d("-1058.09"), ChannelKind::Payout));
    // 9/4/2018 21:15:11 America/Los_Angeles (PDT) is 04:15:11 UTC the next day.
    assert_eq!(first.booked_at_utc.as_deref(), Some("2018-09-05T04:15:11Z"));
    assert_eq!(en.channel_transactions[1].related_transaction_id.as_deref(), Some("TID1"));

    let es = read_auto(&dir.join("paypal_statement_es.csv"));
    assert_eq!(es.profile, "paypal_statement_es");
    assert!(es.problems.is_empty(), "{:?}", es.problems);
    let rows = &es.channel_transactions;
    assert_eq!(rows.len(), 4);
    assert_eq!((rows[0].gross, rows[0].fee, rows[0].net), (d("49.37"), d("1.78"), d("47.59")));
    assert_eq!(rows.iter().map(|r| r.net).sum::<Decimal>(), d("131.08"));
    assert_eq!(rows.iter().map(|r| r.fee).sum::<Decimal>(), d("5.36"));
    // 2/1/2020 is 2 January (d/m/yyyy); 11:05:56 Europe/Berlin (CET) is 10:05:56 UTC.
    assert_eq!(rows[0].booking_date.to_string(), "2020-01-02");
    assert_eq!(rows[0].booked_at_utc.as_deref(), Some("2020-01-02T10:05:56Z"));
    assert!(rows.iter().all(|r| r.kind == ChannelKind::Charge));
}

#[test]
fn excel_mangled_ids_are_explained() {
    let csv = "balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category\n\
               1.03311E+11,2026-10-30 10:00:00,usd,10.00,0.59,9.41,charge\n";
    let err = read_with_profile("s.csv", csv.as_bytes(), &profile("stripe_itemized")).unwrap_err().to_string();
    assert!(err.contains("s.csv:2: column `balance_transaction_id`"), "{err}");
    assert!(err.contains("spreadsheet"), "{err}");
}

#[test]
fn bad_input_names_file_line_column_and_text() {
    let p = profile("stripe_itemized");
    let head = "balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category\n";
    let err = |body: &str| read_with_profile("s.csv", format!("{head}{body}").as_bytes(), &p).unwrap_err().to_string();
    assert!(
        err("txn_1,2026-10-30 10:00:00,usd,ten,0.59,9.41,charge\n")
            .contains("s.csv:2: column `gross`: invalid amount \"ten\"")
    );
    assert!(
        err("txn_1,30.10.2026,usd,10.00,0.59,9.41,charge\n")
            .contains("column `created_utc`: \"30.10.2026\": expected a date")
    );
    assert!(err("txn_1,2026-10-30 10:00:00,usx,10.00,0.59,9.41,charge\n").contains("column `currency`"));
    let missing = read_with_profile("s.csv", b"balance_transaction_id,currency\n", &p).unwrap_err().to_string();
    assert!(
        missing.contains("missing required column(s)")
            && missing.contains("`gross`")
            && missing.contains("stripe_itemized"),
        "{missing}"
    );
    // Not UTF-8 and not declared: reported with the bytes, never garbled.
    let latin1 = b"balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,description\ntxn_1,2026-10-30 10:00:00,usd,10.00,0.59,9.41,charge,Caf\xE9\n";
    let e = read_with_profile("s.csv", latin1, &p).unwrap_err().to_string();
    assert!(e.contains("s.csv:2: not UTF-8: bytes 0xE9") && e.contains("csv.encoding"), "{e}");
}

#[test]
fn stripe_rows_checks_and_unknown_kinds() {
    let p = profile("stripe_itemized");
    let csv = "automatic_payout_id,balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,customer_facing_amount,customer_facing_currency,payment_metadata[order_id]\n\
        po_1,txn_1,2026-10-30 10:00:00,eur,100.00,3.20,96.80,charge,108.50,usd,O-1\n\
        po_1,txn_2,2026-10-30 11:00:00,eur,-20.00,0.00,-20.00,refund,,,O-2\n\
        po_1,txn_3,2026-10-30 12:00:00,eur,-5.00,0.00,-4.00,charge,,,O-3\n\
        po_1,txn_4,2026-10-31 00:00:00,eur,-72.80,0.00,-72.80,payout,,,\n\
        po_1,txn_4,2026-10-31 00:00:00,eur,0.00,0.00,0.00,climate_order,,,\n";
    let read = read_with_profile("s.csv", csv.as_bytes(), &p).unwrap();
    let rows = &read.channel_transactions;
    assert_eq!(rows.len(), 5, "every row is kept");
    assert_eq!(rows[0].presentment_amount, Some(d("108.50")));
    assert_eq!(rows[0].exchange_rate_implied(), Some(d("0.9216589862")));
    assert_eq!(rows[0].merchant_reference.as_deref(), Some("O-1"));
    assert_eq!(rows[0].metadata, vec![("payment_metadata[order_id]".into(), "O-1".into())]);
    assert_eq!(rows[4].kind, ChannelKind::Other);
    assert!(
        read.warnings[0].contains("type \"climate_order\" (1 rows) is not in profile stripe_itemized"),
        "{:?}",
        read.warnings
    );
    let checks: Vec<(&str, u64)> = read.problems.iter().map(|p| (p.check, p.line)).collect();
    // Line 4: gross − fee ≠ net; the batch: 96.80 − 20 − 4 = 72.80 but the payout says 72.80 → holds
    // only because net (not gross) is summed; line 6 repeats an id.
    assert_eq!(checks, [("net_mismatch", 4), ("duplicate_id", 6)], "{:?}", read.problems);
}

#[test]
fn a_resent_row_is_not_in_its_batch_sum_twice() {
    let p = profile("stripe_itemized");
    let header = "automatic_payout_id,balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category\n";
    let rows = "po_1,txn_1,2026-10-30 10:00:00,eur,100.00,3.00,97.00,charge\n\
        po_1,txn_2,2026-10-30 11:00:00,eur,50.00,1.50,48.50,charge\n\
        po_1,txn_2,2026-10-30 11:00:00,eur,50.00,1.50,48.50,charge\n";
    let checks = |payout: &str| {
        let csv = format!("{header}{rows}po_1,txn_9,2026-10-31 00:00:00,eur,-{payout},0.00,-{payout},payout\n");
        let read = read_with_profile("s.csv", csv.as_bytes(), &p).unwrap();
        read.problems.iter().map(|p| (p.check, p.line)).collect::<Vec<_>>()
    };
    // The channel pays 97.00 + 48.50 once: only the repeated id is a problem.
    assert_eq!(checks("145.50"), [("duplicate_id", 4)]);
    // A payout that counted the re-sent row does not add up.
    assert_eq!(checks("194.00"), [("duplicate_id", 4), ("batch_sum", 5)]);
}

#[test]
fn paypal_stl_envelope_minor_units_and_indicators() {
    let p = profile("paypal_stl");
    let csv = "\"RH\",2026/10/30 01:00:00 -0700,\"A\",\"ACCT\",\"009\"\n\
        \"FH\",01\n\
        \"SH\",2026/10/29 00:00:00 -0700,2026/10/29 23:59:59 -0700,\"ACCT\",\"\"\n\
        \"CH\",\"Transaction ID\",\"Invoice ID\",\"PayPal Reference ID\",\"PayPal Reference ID Type\",\"Transaction Event Code\",\"Transaction Initiation Date\",\"Transaction Completion Date\",\"Transaction Debit or Credit\",\"Gross Transaction Amount\",\"Gross Transaction Currency\",\"Fee Debit or Credit\",\"Fee Amount\",\"Fee Currency\",\"Custom Field\",\"Consumer ID\",\"Payment Tracking ID\",\"Store ID\"\n\
        \"SB\",\"1AB\",\"O-1\",\"\",\"\",\"T0006\",2026/10/29 10:00:00 -0700,2026/10/29 10:00:05 -0700,\"CR\",10000,\"USD\",\"DR\",320,\"USD\",\"\",\"\",\"\",\"\"\n\
        \"SB\",\"2CD\",\"O-2\",\"1AB\",\"TXN\",\"T1107\",2026/10/29 11:00:00 -0700,2026/10/29 11:00:00 -0700,\"DR\",2500,\"USD\",\"CR\",0,\"USD\",\"\",\"\",\"\",\"\"\n\
        \"SB\",\"3EF\",\"\",\"\",\"\",\"T0400\",2026/10/29 12:00:00 -0700,2026/10/29 12:00:00 -0700,\"DR\",7180,\"USD\",\"CR\",0,\"USD\",\"\",\"\",\"\",\"\"\n\
        \"SB\",\"4GH\",\"\",\"\",\"\",\"T0000\",2026/10/29 13:00:00 -0700,2026/10/29 13:00:00 -0700,\"CR\",500,\"JPY\",\"DR\",0,\"JPY\",\"\",\"\",\"\",\"\"\n\
        \"SF\",\"USD\",\"CR\",10000,\"DR\",9680\n\
        \"SC\",4\n\"RF\",4\n\"RC\",10\n\"FF\",4\n";
    let read = read_with_profile("STL-20261029.01.009.CSV", csv.as_bytes(), &p).unwrap();
    let rows = &read.channel_transactions;
    assert_eq!(rows.len(), 4);
    assert_eq!(read.skipped_rows, 8, "RH FH SH before the header, SF SC RF RC FF after");
    assert_eq!(
        (rows[0].gross, rows[0].fee, rows[0].net, rows[0].kind),
        (d("100.00"), d("3.20"), d("96.80"), ChannelKind::Charge)
    );
    assert_eq!((rows[1].net, rows[1].kind), (d("-25.00"), ChannelKind::Refund));
    assert_eq!((rows[2].net, rows[2].kind), (d("-71.80"), ChannelKind::Payout));
    assert_eq!(rows[3].net, d("500"), "JPY has no minor units: 500 is 500 yen");
    assert_eq!(rows[0].booked_at_utc.as_deref(), Some("2026-10-29T17:00:05Z"));
}

#[test]
fn detection_explains_unknown_headers() {
    let profiles = builtin_profiles();
    let err = detect(&profiles.iter().collect::<Vec<_>>(), &["Date", "Gross", "Net", "Fee", "Balance"]).unwrap_err();
    assert!(err.starts_with("no profile fits this header; closest: "), "{err}");
    assert!(err.contains("(missing `"), "{err}");
}

#[test]
fn builtin_profiles_round_trip_through_toml() {
    for p in builtin_profiles() {
        let text = Profile::builtin_text(&p.name).unwrap();
        assert_eq!(Profile::from_toml("x", text).unwrap(), p);
        let again = toml::to_string(&p).unwrap();
        assert_eq!(Profile::from_toml("x", &again).unwrap(), p, "{}", p.name);
    }
}

#[test]
fn committed_profile_schema_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/profile.schema.json");
    if std::env::var("SETTLE_UPDATE_SCHEMAS").is_ok() {
        std::fs::write(path, crate::profile_schema_json()).expect("write schema");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == crate::profile_schema_json(),
        "schemas/profile.schema.json is stale: run SETTLE_UPDATE_SCHEMAS=1 cargo test -p settle-tabular"
    );
}

/// A Stripe itemized report of `rows` rows (≈ 7 MB for 60 000) with quoted fields holding delimiters
/// and line breaks, unknown kinds, a repeated id far from its first use and a net mismatch.
fn large_stripe(rows: usize, stray_quote_at: Option<usize>) -> String {
    let mut csv = String::from(
        "automatic_payout_id,balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,customer_facing_amount,customer_facing_currency,payment_metadata[order_id]\n",
    );
    for i in 0..rows {
        let id = if i == rows - 7 { "txn_11".to_string() } else { format!("txn_{i}") };
        let kind = if i % 997 == 0 { "climate_order" } else { "charge" };
        let net = if i == rows / 2 { "9.00" } else { "96.80" };
        let order = match i % 5 {
            0 => format!("\"O-{i}, \"\"gift\"\"\nsecond line\""),
            _ if Some(i) == stray_quote_at => format!("O-{i} 5\" screen"),
            _ => format!("O-{i}"),
        };
        csv.push_str(&format!(
            "po_{},{id},2026-10-30 10:{:02}:00,eur,100.00,3.20,{net},{kind},108.50,usd,{order}\n",
            i / 1000,
            i % 60
        ));
    }
    csv
}

#[test]
fn chunked_reading_gives_what_one_thread_gives() {
    let p = profile("stripe_itemized");
    for stray in [None, Some(30_001)] {
        let csv = large_stripe(60_000, stray);
        assert!(csv.len() > 4 << 20, "large enough to be read in chunks");
        let one = read_with_profile_threads("s.csv", csv.as_bytes(), &p, 1).unwrap();
        assert_eq!(one.channel_transactions.len(), 60_000);
        assert_eq!(one.channel_transactions[5].merchant_reference.as_deref(), Some("O-5, \"gift\"\nsecond line"));
        assert_eq!(one.channel_transactions[6].provenance.line_number(), 10, "a quoted line break is a line");
        assert!(one.problems.iter().any(|p| p.check == "duplicate_id"), "{:?}", one.problems);
        assert!(one.warnings[0].contains("(61 rows)"), "{:?}", one.warnings);
        for threads in [2, 7] {
            let many = read_with_profile_threads("s.csv", csv.as_bytes(), &p, threads).unwrap();
            assert_eq!(many.channel_transactions.len(), one.channel_transactions.len(), "{threads} threads");
            if let Some(i) = (0..one.channel_transactions.len())
                .find(|i| many.channel_transactions[*i] != one.channel_transactions[*i])
            {
                panic!(
                    "{threads} threads, stray {stray:?}: row {i} differs:\n{:?}\n{:?}",
                    many.channel_transactions[i], one.channel_transactions[i]
                );
            }
            assert_eq!(many.problems, one.problems);
            assert_eq!(many.warnings, one.warnings);
            assert_eq!(many.skipped_rows, one.skipped_rows);
        }
    }
    // The first error in the file is the error, however the file is cut.
    let mut csv = large_stripe(60_000, None);
    for bad in ["txn_50000,2026-10-30 10:20:00,eur,1OO.00", "txn_20000,2026-10-30 10:20:00,eur,1X0.00"] {
        let good = bad.replace("1OO.00", "100.00").replace("1X0.00", "100.00");
        csv = csv.replacen(&good, bad, 1);
    }
    let one = read_with_profile_threads("s.csv", csv.as_bytes(), &p, 1).unwrap_err().to_string();
    assert!(one.contains("1X0.00"), "{one}");
    assert_eq!(read_with_profile_threads("s.csv", csv.as_bytes(), &p, 3).unwrap_err().to_string(), one);
}

#[test]
fn orders_through_the_builtin_profile_equal_the_canonical_reader() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/demo/orders.csv");
    let bytes = std::fs::read(path).unwrap();
    let read = read_with_profile("orders.csv", &bytes, &profile("orders")).unwrap();
    assert!(read.problems.is_empty() && read.warnings.is_empty(), "{:?} {:?}", read.problems, read.warnings);
    assert_eq!(read.orders, crate::read_orders("orders.csv", &bytes).unwrap());
    assert!(read.orders.len() > 100);
}

#[test]
fn bad_orders_are_errors_naming_line_column_and_text() {
    let p = profile("orders");
    let head = "order_id,kind,beneficiary_id,channel,order_date,amount,currency\n";
    let err = |row: &str| read_with_profile("o.csv", format!("{head}{row}\n").as_bytes(), &p).unwrap_err().to_string();
    let e = err("O1,gift,B1,stripe,2026-10-28,10.00,EUR");
    assert!(e.contains("o.csv:2") && e.contains("\"gift\" is not an order kind") && e.contains("refund, sale"), "{e}");
    let e = err("O1,sale,B1,stripe,2026-10-28,-10.00,EUR");
    assert!(e.contains("-10.00 for a sale: expected an amount > 0"), "{e}");
    let e = err("O1,sale,,stripe,2026-10-28,10.00,EUR");
    assert!(e.contains("beneficiary_id") && e.contains("is empty"), "{e}");
    // A repeated order id is a failed check, the rows are kept.
    let csv = format!("{head}O1,sale,B1,stripe,2026-10-28,10.00,EUR\nO1,refund,B1,stripe,2026-10-29,5.00,EUR\n");
    let read = read_with_profile("o.csv", csv.as_bytes(), &p).unwrap();
    assert_eq!(read.orders[1].amount, d("-5.00"), "a refund written positive is read negative");
    assert_eq!(read.problems.iter().map(|p| (p.check, p.line)).collect::<Vec<_>>(), [("duplicate_id", 3)]);
}

#[test]
fn beneficiaries_through_the_builtin_profile_equal_the_canonical_reader() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/demo/beneficiaries.csv");
    let bytes = std::fs::read(path).unwrap();
    let read = read_with_profile("b.csv", &bytes, &profile("beneficiaries")).unwrap();
    assert!(read.problems.is_empty(), "{:?}", read.problems);
    assert_eq!(read.beneficiaries, crate::read_beneficiaries("b.csv", &bytes).unwrap());
    let p = profile("beneficiaries");
    let head = "beneficiary_id,legal_name,country,iban,bic,payout_currency\n";
    let bad =
        format!("{head}B1,Acme,DE,DE89 3704 0044 0532 0130 00,COBADEFF,EUR\nB2,Beta,DE,DE00370400440532013000,,EUR\n");
    let e = read_with_profile("b.csv", bad.as_bytes(), &p).unwrap_err().to_string();
    assert!(e.contains("b.csv:3") && e.contains("iban") && e.contains("not a valid IBAN"), "{e}");
    let twice = format!("{head}B1,Acme,DE,DE89370400440532013000,,EUR\nB1,Acme,DE,DE89370400440532013000,,EUR\n");
    let read = read_with_profile("b.csv", twice.as_bytes(), &p).unwrap();
    assert_eq!(read.beneficiaries[0].iban, "DE89370400440532013000");
    assert_eq!(read.problems.iter().map(|p| (p.check, p.line)).collect::<Vec<_>>(), [("duplicate_id", 3)]);
}

/// One column of a test Parquet file: its values as the writer takes them.
enum ParquetColumn {
    Text(Vec<Option<String>>),
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Double(Vec<f64>),
}

/// Writes a flat Parquet file (Snappy) with `schema` (message type syntax) and `columns` in its order.
fn parquet_file(schema: &str, columns: Vec<ParquetColumn>) -> Vec<u8> {
    use parquet::basic::Compression;
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    let schema = std::sync::Arc::new(parquet::schema::parser::parse_message_type(schema).unwrap());
    let props = std::sync::Arc::new(WriterProperties::builder().set_compression(Compression::SNAPPY).build());
    let mut out = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut out, schema, props).unwrap();
    let mut group = writer.next_row_group().unwrap();
    for column in columns {
        let mut w = group.next_column().unwrap().expect("a column per schema field");
        match column {
            ParquetColumn::Text(values) => {
                let present: Vec<ByteArray> = values.iter().flatten().map(|v| ByteArray::from(v.as_str())).collect();
                let levels: Vec<i16> = values.iter().map(|v| i16::from(v.is_some())).collect();
                w.typed::<ByteArrayType>().write_batch(&present, Some(&levels), None).unwrap();
            }
            ParquetColumn::Int32(values) => {
                w.typed::<Int32Type>().write_batch(&values, None, None).unwrap();
            }
            ParquetColumn::Int64(values) => {
                w.typed::<Int64Type>().write_batch(&values, None, None).unwrap();
            }
            ParquetColumn::Double(values) => {
                w.typed::<DoubleType>().write_batch(&values, None, None).unwrap();
            }
        }
        w.close().unwrap();
    }
    group.close().unwrap();
    writer.close().unwrap();
    out
}

#[test]
fn orders_and_beneficiaries_read_from_parquet_as_from_csv() {
    use ParquetColumn::*;
    let csv = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/demo/orders.csv")).unwrap();
    let orders = crate::read_orders("orders.csv", &csv).unwrap();
    let text = |f: &dyn Fn(&settle_core::Order) -> String| Text(orders.iter().map(|o| Some(f(o))).collect());
    let epoch = jiff::civil::date(1970, 1, 1);
    let bytes = parquet_file(
        "message orders { OPTIONAL BYTE_ARRAY order_id (UTF8); OPTIONAL BYTE_ARRAY kind (UTF8); \
         OPTIONAL BYTE_ARRAY beneficiary_id (UTF8); OPTIONAL BYTE_ARRAY channel (UTF8); \
         REQUIRED INT32 order_date (DATE); REQUIRED INT64 amount (DECIMAL(18,3)); \
         OPTIONAL BYTE_ARRAY currency (UTF8); }",
        vec![
            text(&|o| o.order_id.to_string()),
            text(&|o| o.kind.as_str().to_string()),
            text(&|o| o.beneficiary_id.to_string()),
            text(&|o| o.channel.to_string()),
            Int32(orders.iter().map(|o| (o.order_date - epoch).get_days()).collect()),
            // Unscaled at three decimals: exact for every currency of the demo (JPY 0, EUR 2, KWD 3).
            Int64(
                orders
                    .iter()
                    .map(|o| i64::try_from((o.amount * Decimal::from(1000)).trunc().mantissa()).unwrap())
                    .collect(),
            ),
            text(&|o| o.currency.code().to_string()),
        ],
    );
    assert!(crate::is_parquet(&bytes));
    // `auto` finds the profile by the Parquet column names.
    let builtin = builtin_profiles();
    let candidates: Vec<&Profile> = builtin.iter().filter(|p| p.record == crate::RecordKind::Orders).collect();
    let p = crate::detect_profile("orders.parquet", &bytes, &candidates).unwrap();
    assert_eq!(p.name, "orders");
    let read = read_with_profile("orders.parquet", &bytes, p).unwrap();
    assert!(read.problems.is_empty(), "{:?}", read.problems);
    assert_eq!(read.orders.len(), orders.len());
    for (i, (from_parquet, from_csv)) in read.orders.iter().zip(&orders).enumerate() {
        assert_eq!(from_parquet.provenance.line_number(), i as u64 + 1, "rows are numbered from 1");
        let mut same = from_csv.clone();
        same.provenance = from_parquet.provenance.clone();
        assert_eq!(from_parquet, &same);
    }

    // Money in floating point is refused, naming the column.
    let floats = parquet_file(
        "message orders { OPTIONAL BYTE_ARRAY order_id (UTF8); OPTIONAL BYTE_ARRAY kind (UTF8); \
         OPTIONAL BYTE_ARRAY beneficiary_id (UTF8); OPTIONAL BYTE_ARRAY channel (UTF8); \
         REQUIRED INT32 order_date (DATE); REQUIRED DOUBLE amount; OPTIONAL BYTE_ARRAY currency (UTF8); }",
        vec![
            Text(vec![Some("O1".into())]),
            Text(vec![Some("sale".into())]),
            Text(vec![Some("B1".into())]),
            Text(vec![Some("stripe".into())]),
            Int32(vec![20_755]),
            Double(vec![10.1]),
            Text(vec![Some("EUR".into())]),
        ],
    );
    let e = read_with_profile("o.parquet", &floats, &profile("orders")).unwrap_err().to_string();
    assert!(e.contains("column `amount`") && e.contains("floating-point"), "{e}");

    // Beneficiaries with an absent BIC (a null) and an id missing (a null where one is required).
    let bytes = parquet_file(
        "message b { OPTIONAL BYTE_ARRAY beneficiary_id (UTF8); OPTIONAL BYTE_ARRAY legal_name (UTF8); \
         OPTIONAL BYTE_ARRAY country (UTF8); OPTIONAL BYTE_ARRAY iban (UTF8); OPTIONAL BYTE_ARRAY bic (UTF8); \
         OPTIONAL BYTE_ARRAY payout_currency (UTF8); }",
        vec![
            Text(vec![Some("B1".into()), None]),
            Text(vec![Some("Acme GmbH".into()), Some("Beta".into())]),
            Text(vec![Some("DE".into()), Some("DE".into())]),
            Text(vec![Some("DE89370400440532013000".into()), Some("DE89370400440532013000".into())]),
            Text(vec![None, Some("COBADEFF".into())]),
            Text(vec![Some("EUR".into()), Some("EUR".into())]),
        ],
    );
    let e = read_with_profile("b.parquet", &bytes, &profile("beneficiaries")).unwrap_err().to_string();
    assert!(e.contains("b.parquet:2") && e.contains("beneficiary_id") && e.contains("is empty"), "{e}");
}

#[test]
fn damaged_parquet_files_are_errors_not_crashes() {
    // Files the fuzzer made from fixtures/parquet/orders.parquet that the parquet crate asserts on.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/parquet");
    let good = std::fs::read(format!("{dir}/orders.parquet")).unwrap();
    assert_eq!(read_with_profile("orders.parquet", &good, &profile("orders")).unwrap().orders.len(), 2);
    let mut damaged = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.file_name().unwrap().to_string_lossy().starts_with("damaged-") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let e = read_with_profile("d.parquet", &bytes, &profile("orders")).unwrap_err().to_string();
        assert!(e.starts_with("d.parquet") && e.contains("damaged Parquet file"), "{e}");
        damaged += 1;
    }
    assert!(damaged >= 3);
}

/// Found by the parquet_profiles fuzz target (fixtures/parquet/damaged-3-slow-footer.parquet, 995
/// bytes): the parquet crate skips a list of booleans without consuming a byte per element, so a footer
/// declaring 2^31 of them took 2.5 s per reading (minutes with several). The footer is walked first.
#[test]
fn a_footer_declaring_more_elements_than_bytes_is_refused_at_once() {
    let mut bytes = b"PAR1".to_vec();
    // FileMetaData { 1: list<bool> of 2^31 - 1 elements }, then the struct's stop.
    let metadata = [0x19, 0xF1, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x00];
    bytes.extend(metadata);
    bytes.extend((metadata.len() as u32).to_le_bytes());
    bytes.extend(b"PAR1");
    let started = std::time::Instant::now();
    let e = read_with_profile("s.parquet", &bytes, &profile("orders")).unwrap_err().to_string();
    assert!(e.contains("a list of 2147483647 elements in the 1 bytes left of the footer"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn a_shard_reading_keeps_its_rows_in_full_the_others_in_brief_and_checks_every_row() {
    let p = profile("stripe_itemized");
    let csv = large_stripe(60_000, None);
    let whole = read_with_profile_threads("s.csv", csv.as_bytes(), &p, 1).unwrap();
    // Both rows of the repeated id fall on either side in turn: the checks see them through the briefs.
    for modulus in [2u64, 3] {
        let keep = |tx: &settle_core::ChannelTransaction| tx.provenance.line_number().is_multiple_of(modulus);
        let shard = read_shard_with_profile("s.csv", csv.as_bytes(), &p, &keep).unwrap();
        assert_eq!(shard.problems, whole.problems, "every row is checked");
        assert_eq!(shard.warnings, whole.warnings);
        let kept: Vec<_> = whole.channel_transactions.iter().filter(|t| keep(t)).cloned().collect();
        assert_eq!(shard.channel_transactions, kept);
        let briefs: Vec<_> = whole
            .channel_transactions
            .iter()
            .filter(|t| !keep(t))
            .map(|t| settle_core::ForeignRow::of(t, false, false))
            .collect();
        assert_eq!(shard.foreign_rows, briefs);
        let ordinals: Vec<u32> = (0..whole.channel_transactions.len() as u32)
            .filter(|&i| keep(&whole.channel_transactions[i as usize]))
            .collect();
        assert_eq!(shard.kept_ordinals, ordinals);
    }
    assert!(whole.foreign_rows.is_empty() && whole.kept_ordinals.is_empty(), "a whole reading keeps every row");
}

/// Found by the hostile corpus (fixtures/hostile/nul_bytes_stripe.csv): a NUL byte was read into a cell
/// (and a row's kind); now the file is refused with the line.
#[test]
fn nul_byte_in_a_cell_is_refused_with_its_line() {
    let text = b"balance_transaction_id,gross,fee,net,reporting_category,currency\ntxn_1,1.00,0.00,1.00,char\0ge,eur\n";
    let err = read_with_profile("nul.csv", text, &profile("stripe_itemized")).unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(err.to_string().contains("a NUL byte at byte"), "{err}");
}

/// Found by the hostile corpus (a 1 GiB line): profile detection decoded the whole file as Windows-1252
/// when the UTF-8 reading failed, and the allocation aborted the process. Detection now reads the head.
#[test]
fn a_huge_line_is_refused_and_detection_reads_only_the_head() {
    let mut text = b"balance_transaction_id,gross,fee,net,reporting_category,currency\n".to_vec();
    text.extend(std::iter::repeat_n(b'7', crate::profiled::LINE_BYTES_MAX + 1));
    let all: Vec<Profile> = crate::builtin_profiles();
    let refs: Vec<&Profile> = all.iter().collect();
    let found = crate::detect_profile("long.csv", &text, &refs).unwrap();
    let err = read_with_profile("long.csv", &text, found).unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(err.to_string().contains("the line is longer than 1048576 bytes"), "{err}");
}
