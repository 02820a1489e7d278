//! Tests on real MT940/MT942 files (../shared/samples/mt940) and the writer.

use std::path::PathBuf;
use std::str::FromStr;

use proptest::prelude::*;
use settle_core::{Currency, Decimal, Direction, Money, parse_date};

use crate::{Entry, Mark, MessageType, bank_entries, check_message, read_mt940, write_mt940};

fn samples() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/mt940");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but {} is missing", dir.display());
    eprintln!("skipping: {} not found (outside CI)", dir.display());
    None
}

/// (file, message index, account, entries, opening, closing, credits, debits, balance_ok), computed
/// from the files by a separate Python reading (regular expressions over the fields).
type Expected = (
    &'static str,
    usize,
    Option<&'static str>,
    usize,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
    &'static str,
    Option<bool>,
);

const EXPECTED: &[Expected] = &[
    ("jejik_abnamro.sta", 0, Some("517852257"), 8, Some("3236.28"), Some("876.84"), "0", "321.44", Some(false)),
    ("jejik_abnamro.sta", 1, Some("517852257"), 2, Some("2876.84"), Some("1849.75"), "0", "24.49", Some(false)),
    ("jejik_commerzbank.sta", 0, Some("25040066/0123456789"), 1, Some("0.00"), Some("0.00"), "0", "12.35", Some(false)),
    (
        "jejik_deutschebank.sta",
        0,
        Some("20070000/0123456601"),
        1,
        Some("0.00"),
        Some("0.00"),
        "0",
        "12.35",
        Some(false),
    ),
    ("jejik_ing-dos.sta", 0, Some("0001234567"), 7, Some("0.00"), Some("3.47"), "4.68", "50.27", Some(false)),
    ("jejik_knab.sta", 0, Some("123456789"), 1, Some("0"), Some("500"), "500", "0", Some(true)),
    ("jejik_knab.sta", 1, Some("123456789"), 2, Some("3058.98"), Some("798.98"), "500", "7260", Some(false)),
    ("jejik_postfinance.sta", 0, Some("123456789"), 2, Some("0"), Some("229.2"), "229.2", "0", Some(true)),
    ("jejik_postfinance.sta", 1, Some("123456789"), 2, Some("229.2"), Some("159.6"), "10.1", "79.9", Some(false)),
    ("jejik_rabobank.sta", 0, Some("1291.99.348EUR"), 1, Some("473.17"), Some("395.82"), "0", "1213.28", Some(false)),
    ("jejik_rabobank.sta", 1, Some("1291.99.348EUR"), 0, Some("1000.89"), Some("1000.89"), "0", "0", Some(true)),
    ("jejik_rabobank.sta", 2, Some("1291.99.348EUR"), 2, Some("1295.82"), Some("1250.87"), "0", "281.51", Some(false)),
    ("jejik_rabobank.sta", 3, Some("1526.89.184EUR"), 2, Some("4196.12"), Some("4101.82"), "0", "94.30", Some(true)),
    ("jejik_sns.sta", 0, Some("0123456789"), 2, Some("1234.56"), Some("1209.56"), "0", "25.00", Some(true)),
    ("jejik_sns.sta", 1, Some("0123456789"), 0, Some("1209.56"), Some("1209.56"), "0", "0", Some(true)),
    ("jejik_sparkasse.sta", 0, Some("87052000/123456789"), 1, Some("194.57"), Some("174.57"), "0", "20.00", Some(true)),
    ("jejik_sparkasse.sta", 1, Some("87052000/123456789"), 1, Some("174.57"), Some("154.57"), "0", "20.00", Some(true)),
    (
        "jejik_sparkasse_interim_balance.sta",
        0,
        Some("87052000/123456789"),
        1,
        Some("194.57"),
        Some("174.57"),
        "0",
        "20.00",
        Some(true),
    ),
    (
        "jejik_sparkasse_interim_balance.sta",
        1,
        Some("87052000/123456789"),
        1,
        Some("174.57"),
        Some("154.57"),
        "0",
        "20.00",
        Some(true),
    ),
    (
        "jejik_sparkasse_interim_balance.sta",
        2,
        Some("87052000/123456789"),
        0,
        Some("0"),
        Some("0"),
        "0",
        "0",
        Some(true),
    ),
    (
        "jejik_triodos.sta",
        0,
        Some("TRIODOSBANK/0390123456"),
        2,
        Some("4975.09"),
        Some("4370.79"),
        "0",
        "715.70",
        Some(false),
    ),
    (
        "jejik_volksbankenraiffeisenbanken.sta",
        0,
        Some("66642399/93387"),
        2,
        Some("3085.00"),
        Some("3230.00"),
        "145.00",
        "0",
        Some(true),
    ),
    (
        "jejik_volksbankenraiffeisenbanken.sta",
        1,
        Some("66642399/93387"),
        1,
        Some("3230.00"),
        Some("3310.00"),
        "80.00",
        "0",
        Some(true),
    ),
    (
        "jejik_volksbankenraiffeisenbanken.sta",
        2,
        Some("66642399/93387"),
        2,
        Some("3310.00"),
        Some("3430.00"),
        "120.00",
        "0",
        Some(true),
    ),
    (
        "jejik_volksbankenraiffeisenbanken.sta",
        3,
        Some("66642399/93387"),
        3,
        Some("3430.00"),
        Some("3620.00"),
        "190.00",
        "0",
        Some(true),
    ),
    (
        "jejik_volksbankenraiffeisenbanken.sta",
        4,
        Some("66642399/93387"),
        1,
        Some("3620.00"),
        Some("3685.00"),
        "65.00",
        "0",
        Some(true),
    ),
    (
        "jejik_volksbankenraiffeisenbanken.sta",
        5,
        Some("66642399/93387"),
        1,
        Some("3685.00"),
        Some("3735.00"),
        "50.00",
        "0",
        Some(true),
    ),
    (
        "jejik_volksbankenraiffeisenbanken.sta",
        6,
        Some("66642399/93387"),
        1,
        Some("3735.00"),
        Some("3775.00"),
        "40.00",
        "0",
        Some(true),
    ),
    (
        "jejik_volksbankenraiffeisenbanken.sta",
        7,
        Some("66642399/93387"),
        1,
        Some("3775.00"),
        Some("3830.00"),
        "55.00",
        "0",
        Some(true),
    ),
    (
        "phpmt940_bunq.sta",
        0,
        Some("NL10BUNQ2290325473 EUR"),
        111,
        Some("32.33"),
        Some("5.66"),
        "761.66",
        "788.33",
        Some(true),
    ),
    (
        "phpmt940_penta.sta",
        0,
        Some("11010100/2324817618"),
        30,
        Some("20419.66"),
        Some("9843.36"),
        "121.38",
        "10697.68",
        Some(true),
    ),
    (
        "phpmt940_rabo.sta",
        0,
        Some("0800003200000001610722 EUR"),
        0,
        Some("0.00"),
        Some("2145.00"),
        "0",
        "0",
        Some(false),
    ),
    (
        "phpmt940_rabo.sta",
        1,
        Some("0800003200000001610722 EUR"),
        0,
        Some("2145.00"),
        Some("2145.00"),
        "0",
        "0",
        Some(true),
    ),
    (
        "phpmt940_rabo.sta",
        2,
        Some("0800003200000001610722 EUR"),
        0,
        Some("2145.00"),
        Some("2145.00"),
        "0",
        "0",
        Some(true),
    ),
    ("phpmt940_rabo.sta", 3, Some("1017.490.554EUR"), 0, Some("0.00"), Some("20000.00"), "0", "0", Some(false)),
    (
        "phpmt940_rabo.sta",
        4,
        Some("1017.490.554EUR"),
        2,
        Some("20000.00"),
        Some("20500.00"),
        "600.00",
        "0",
        Some(false),
    ),
    (
        "phpmt940_rabo.sta",
        5,
        Some("1017.490.554EUR"),
        1,
        Some("20500.00"),
        Some("20366.00"),
        "500.00",
        "0",
        Some(false),
    ),
    ("phpmt940_rabo.sta", 6, Some("1700.32.841EUR"), 0, Some("0.00"), Some("10500.00"), "0", "0", Some(false)),
    ("phpmt940_rabo.sta", 7, Some("1700.32.841EUR"), 0, Some("10500.00"), Some("10100.00"), "0", "0", Some(false)),
    (
        "phpmt940_rabo.sta",
        8,
        Some("1700.32.841EUR"),
        3,
        Some("10100.00"),
        Some("10000.00"),
        "100.00",
        "600.00",
        Some(false),
    ),
    ("phpmt940_rabo.sta", 9, Some("1700.59.286EUR"), 0, Some("0.00"), Some("-3550.00"), "0", "0", Some(false)),
    ("phpmt940_rabo.sta", 10, Some("1700.59.286EUR"), 0, Some("-3550.00"), Some("-3550.00"), "0", "0", Some(true)),
    ("phpmt940_rabo.sta", 11, Some("1700.59.286EUR"), 0, Some("-3550.00"), Some("-3550.00"), "0", "0", Some(true)),
    ("phpmt940_rabo.sta", 12, Some("1700.59.286USD"), 0, Some("0.00"), Some("482.41"), "0", "0", Some(false)),
    ("phpmt940_rabo.sta", 13, Some("1700.59.286USD"), 0, Some("482.41"), Some("165282.41"), "0", "0", Some(false)),
    (
        "phpmt940_rabo.sta",
        14,
        Some("1700.59.286USD"),
        4,
        Some("165282.41"),
        Some("165490.41"),
        "165800.31",
        "1000.00",
        Some(false),
    ),
    (
        "phpmt940_rabo.sta",
        15,
        Some("1700.59.308EUR"),
        5,
        Some("22345.10"),
        Some("34160.25"),
        "3111.76",
        "0",
        Some(false),
    ),
    (
        "phpmt940_rabo.sta",
        16,
        Some("1700.59.308EUR"),
        1,
        Some("1000.00"),
        Some("22345.10"),
        "3288.86",
        "0",
        Some(false),
    ),
    (
        "phpmt940_rabo.sta",
        17,
        Some("1700.59.308EUR"),
        5,
        Some("61914.51"),
        Some("22345.10"),
        "52415.35",
        "4220.00",
        Some(false),
    ),
    ("phpmt940_rabo.sta", 18, Some("1700.59.308EUR"), 0, Some("22345.10"), Some("1000.00"), "0", "0", Some(false)),
    ("phpmt940_rabo.sta", 19, Some("1700.59.308EUR"), 0, Some("1000.00"), Some("61914.51"), "0", "0", Some(false)),
    (
        "phpmt940_rabo.sta",
        20,
        Some("1700.59.308EUR"),
        11,
        Some("61914.51"),
        Some("61914.51"),
        "76118.50",
        "37390.79",
        Some(false),
    ),
    ("phpmt940_rabo.sta", 21, Some("1700.59.308EUR"), 0, Some("22345.10"), Some("390838.66"), "0", "0", Some(false)),
    ("phpmt940_rabo.sta", 22, Some("1700.59.308EUR"), 0, Some("1000.00"), Some("381467.01"), "0", "0", Some(false)),
    ("phpmt940_rabo.sta", 23, Some("1700.59.308EUR"), 0, Some("61914.51"), Some("381544.01"), "0", "0", Some(false)),
    ("phpmt940_rabo.sta", 24, Some("1700.59.308JPY"), 0, Some("0"), Some("-115351"), "0", "0", Some(false)),
    ("phpmt940_rabo.sta", 25, Some("1700.59.308JPY"), 0, Some("-115351"), Some("10"), "0", "0", Some(false)),
    ("phpmt940_rabo.sta", 26, Some("1700.59.308JPY"), 4, Some("10"), Some("192"), "1640129", "486619", Some(false)),
    ("phpmt940_rabo.sta", 27, Some("1700.59.308USD"), 0, Some("0.00"), Some("1500.00"), "0", "0", Some(false)),
    ("phpmt940_rabo.sta", 28, Some("1700.59.308USD"), 0, Some("1500.00"), Some("1500.00"), "0", "0", Some(true)),
    ("phpmt940_rabo.sta", 29, Some("1700.59.308USD"), 0, Some("1500.00"), Some("1500.00"), "0", "0", Some(true)),
    ("phpmt940_rabo.sta", 30, Some("3000.91.494EUR"), 0, Some("0.00"), Some("-65499.34"), "0", "0", Some(false)),
    ("phpmt940_rabo.sta", 31, Some("3000.91.494EUR"), 0, Some("-65499.34"), Some("-64254.34"), "0", "0", Some(false)),
    (
        "phpmt940_rabo.sta",
        32,
        Some("3000.91.494EUR"),
        3,
        Some("-64254.34"),
        Some("-126631.51"),
        "1245.00",
        "62377.17",
        Some(false),
    ),
    ("phpmt940_rabo.sta", 33, Some("4324567-0000081EUR"), 0, Some("0.00"), Some("2545.00"), "0", "0", Some(false)),
    ("phpmt940_rabo.sta", 34, Some("4324567-0000081EUR"), 0, Some("2545.00"), Some("2545.00"), "0", "0", Some(true)),
    ("phpmt940_rabo.sta", 35, Some("4324567-0000081EUR"), 0, Some("2545.00"), Some("2545.00"), "0", "0", Some(true)),
    ("phpmt940_rabo.sta", 36, Some("8888.888.888EUR"), 0, Some("0.00"), Some("5500.00"), "0", "0", Some(false)),
    ("phpmt940_rabo.sta", 37, Some("8888.888.888EUR"), 0, Some("5500.00"), Some("5500.00"), "0", "0", Some(true)),
    ("phpmt940_rabo.sta", 38, Some("8888.888.888EUR"), 0, Some("5500.00"), Some("5500.00"), "0", "0", Some(true)),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        0,
        Some("50880050/0194774600888"),
        7,
        Some("-1234718.36"),
        Some("-1237628.23"),
        "997241.96",
        "1000151.83",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        1,
        Some("50880050/0194777100888"),
        2,
        Some("-970499.9"),
        Some("-1455749.85"),
        "15000.05",
        "500250",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        2,
        Some("50880050/0194778300888"),
        5,
        Some("-1709296.34"),
        Some("-2237334.85"),
        "125180.81",
        "653219.32",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        3,
        Some("50880050/0194779500888"),
        3,
        Some("3192675.04"),
        Some("4242675.04"),
        "1050000",
        "0",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        4,
        Some("50880050/0194780100888"),
        5,
        Some("-2368827.87"),
        Some("-3095522.14"),
        "204.88",
        "726899.15",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        5,
        Some("50880050/0194780101888"),
        1,
        Some("152970.15"),
        Some("203960.2"),
        "50990.05",
        "0",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        6,
        Some("50880050/0194781300888"),
        4,
        Some("-40432.2"),
        Some("-30503.83"),
        "19990.05",
        "10061.68",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        7,
        Some("50880050/0194781300888"),
        4,
        Some("-30503.83"),
        Some("-100854.45"),
        "0",
        "70350.62",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        8,
        Some("50880050/0194782500888"),
        8,
        Some("-1552497.38"),
        Some("-1358945.52"),
        "201202.10",
        "7650.24",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        9,
        Some("50880050/0194782500888"),
        3,
        Some("-1358945.52"),
        Some("-2303471.11"),
        "0",
        "944525.59",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        10,
        Some("50880050/0194783700888"),
        6,
        Some("-3829477.87"),
        Some("-2931994.84"),
        "915646.88",
        "18163.85",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        11,
        Some("50880050/0194783700888"),
        6,
        Some("-2931994.84"),
        Some("-5019697.96"),
        "0",
        "2087703.12",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        12,
        Some("50880050/0194784900888"),
        6,
        Some("-5777585.57"),
        Some("-6018113.38"),
        "171052.00",
        "411579.81",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        13,
        Some("50880050/0194784900888"),
        3,
        Some("-6018113.38"),
        Some("-8844425.38"),
        "0",
        "2826312",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        14,
        Some("50880050/0194784901888"),
        1,
        Some("13990.05"),
        Some("27980.1"),
        "13990.05",
        "0",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        15,
        Some("50880050/0194785000888"),
        5,
        Some("-3612519.02"),
        Some("-3632585.04"),
        "0",
        "20066.02",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        16,
        Some("50880050/0194785000888"),
        5,
        Some("-3632585.04"),
        Some("-3814901.47"),
        "0",
        "182316.43",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        17,
        Some("50880050/0194785000888"),
        2,
        Some("-3814901.47"),
        Some("-5113593.52"),
        "0",
        "1298692.05",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        18,
        Some("50880050/0194785001888"),
        1,
        Some("152970.15"),
        Some("203960.2"),
        "50990.05",
        "0",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        19,
        Some("50880050/0194786200888"),
        3,
        Some("145964.58"),
        Some("238954.77"),
        "92990.19",
        "0",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        20,
        Some("50880050/0194787400888"),
        4,
        Some("766656.49"),
        Some("1125250.4"),
        "360093.91",
        "1500",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        21,
        Some("50880050/0194791600888"),
        7,
        Some("-1970431.87"),
        Some("-4472049.09"),
        "1070951.81",
        "3572569.03",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        22,
        Some("50880050/0194791601888"),
        3,
        Some("-324910.25"),
        Some("-397310.25"),
        "52900.10",
        "125300.1",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        23,
        Some("50880050/0194798900888"),
        1,
        Some("-450"),
        Some("-600"),
        "0",
        "150",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        24,
        Some("50880050/0194799000888"),
        1,
        Some("-450"),
        Some("-600"),
        "0",
        "150",
        Some(true),
    ),
    (
        "wolph_betterplace_sepa_mt9401.sta",
        25,
        Some("50880050/0194804000888"),
        1,
        Some("0"),
        Some("50.05"),
        "50.05",
        "0",
        Some(true),
    ),
    ("wolph_mbank_mt942.sta", 0, Some("PL29114010810000267002001002"), 3, None, None, "0.03", "0", None),
    (
        "wolph_raiffeisen-cmi.sta",
        0,
        Some("UBRTHUHB/123456789150ABCDEF002/HUF"),
        7,
        Some("25170637.10"),
        Some("25281687.60"),
        "2066637.00",
        "3078850.50",
        Some(false),
    ),
    (
        "wolph_sberbank_171011_01234945.sta",
        0,
        Some("1966315302010001"),
        3,
        Some("627311.30"),
        Some("617874.30"),
        "0",
        "9437.00",
        Some(true),
    ),
    (
        "zilverline_deutsche_bank.sta",
        0,
        Some("233025/40069462"),
        2,
        Some("0.00"),
        Some("5.87"),
        "4.00",
        "0",
        Some(false),
    ),
    (
        "zilverline_ing_mt940_iban.sta",
        0,
        Some("NL68INGB0000012345EUR"),
        21,
        Some("436.90"),
        Some("246.45"),
        "14640.00",
        "14830.45",
        Some(true),
    ),
    (
        "zilverline_van_lanschot.sta",
        0,
        Some("0878787878"),
        1,
        Some("5053.33"),
        Some("7770.09"),
        "2716.76",
        "0",
        Some(true),
    ),
    (
        "zilverline_van_lanschot.sta",
        1,
        Some("0878787878"),
        2,
        Some("7770.09"),
        Some("5666.09"),
        "0",
        "2104.00",
        Some(true),
    ),
    (
        "zilverline_van_lanschot.sta",
        2,
        Some("0878787878"),
        1,
        Some("5666.09"),
        Some("4849.34"),
        "0",
        "816.75",
        Some(true),
    ),
];

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

#[test]
fn every_shared_sample_gives_the_figures_it_states() {
    let Some(dir) = samples() else { return };
    let mut files: Vec<&str> = EXPECTED.iter().map(|e| e.0).collect();
    files.dedup();
    assert_eq!(files.len(), std::fs::read_dir(&dir).unwrap().count(), "every MT940 sample has expectations");
    for file in files {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let read = read_mt940(file, &bytes, None).unwrap_or_else(|e| panic!("{e}"));
        let expected: Vec<&Expected> = EXPECTED.iter().filter(|e| e.0 == file).collect();
        assert_eq!(read.messages.len(), expected.len(), "{file}: messages");
        for (m, e) in read.messages.iter().zip(expected) {
            let check = check_message(m);
            assert_eq!(m.account.as_deref(), e.2, "{file} account");
            assert_eq!(m.entries.len(), e.3, "{file} entries");
            assert_eq!(check.opening.map(|x| x.amount()), e.4.map(dec), "{file} opening");
            assert_eq!(check.closing.map(|x| x.amount()), e.5.map(dec), "{file} closing");
            assert_eq!(check.sum_credits, dec(e.6), "{file} credits");
            assert_eq!(check.sum_debits, dec(e.7), "{file} debits");
            assert_eq!(check.balance_ok, e.8, "{file} balance_ok {:?}", check.problems);
        }
    }
}

#[test]
fn dialects_map_to_canonical_fields() {
    let Some(dir) = samples() else { return };
    let read = |f: &str| read_mt940(f, &std::fs::read(dir.join(f)).unwrap(), None).unwrap();
    let file: std::sync::Arc<str> = "x".into();

    let db = read("jejik_deutschebank.sta");
    let rows = bank_entries(&file, &db.messages[0]);
    assert_eq!(rows[0].reference.as_deref(), Some("A1.200080779.400143254.4961336"), "EREF is the reference");
    assert_eq!(rows[0].counterparty_name.as_deref(), Some("TESTEREL"));
    assert_eq!(rows[0].details[0].mandate_id.as_deref(), Some("20852HW2723821"));
    assert_eq!(rows[0].bank_transaction_code.as_deref(), Some("NRTI/109"));

    let ing = read("zilverline_ing_mt940_iban.sta");
    let rows = bank_entries(&file, &ing.messages[0]);
    assert_eq!(rows[0].details[0].creditor_account.as_deref(), Some("NL57ABNA0876543211"), "ING counterparty IBAN");
    assert_eq!(rows[0].details[0].creditor_agent_bic.as_deref(), Some("ABNANL2A"));
    assert_eq!(rows[0].counterparty_name.as_deref(), Some("B Bert"));
    assert_eq!(rows[0].remittance_info.as_deref(), Some("22-08-2014 Omschrijving"));

    let raiffeisen = read("wolph_raiffeisen-cmi.sta");
    assert_eq!(raiffeisen.encoding, crate::TextEncoding::Cp852);
    assert!(raiffeisen.warnings[0].starts_with("not UTF-8: decoded as CP852 by evidence"), "{:?}", raiffeisen.warnings);
    let supplementary = raiffeisen.messages[0].entries[0].supplementary.as_deref().unwrap();
    assert_eq!(supplementary, "Csoportos átutalás jóváírása");

    let rabo = read("jejik_rabobank.sta");
    let rows = bank_entries(&file, &rabo.messages[0]);
    assert_eq!(rows[0].counterparty_name.as_deref(), Some("W.P. Jansen"), "old Rabobank: name in the :61: reference");
    assert_eq!(rows[0].details[0].creditor_account.as_deref(), Some("0121470966"));
    assert_eq!(rows[0].reference, None);
    assert_eq!(
        rows[0].remittance_info.as_deref(),
        Some("Terugboeking NIET AKKOORD MET AFSCHRIJVING KOSTEN KINDEROPVANG JUNI 20095731"),
        "several :86: fields joined"
    );

    let mbank = read("wolph_mbank_mt942.sta");
    assert_eq!(mbank.messages[0].message_type, MessageType::Mt942);
    assert_eq!(check_message(&mbank.messages[0]).balance_ok, None);

    let sparkasse = read("jejik_sparkasse.sta");
    let rows = bank_entries(&file, &sparkasse.messages[0]);
    assert!(
        rows[0].remittance_info.as_deref().unwrap_or("").contains('ß')
            || rows[0].counterparty_name.as_deref().unwrap_or("").contains('ß')
            || sparkasse.messages[0].entries[0].information.as_deref().unwrap_or("").contains('ß')
    );
}

fn entry(i: usize, minor: i64, mark: Mark, info: &str) -> Entry {
    let eur = Currency::from_code("USD").unwrap();
    Entry {
        index: i,
        line: 0,
        value_date: parse_date("2026-10-30").unwrap(),
        entry_date: Some(parse_date("2026-10-30").unwrap()),
        mark,
        funds_code: None,
        amount: Money::from_minor_units(i128::from(minor), eur).unwrap(),
        transaction_type: "NTRF".into(),
        customer_reference: format!("REF{i}").into(),
        bank_reference: Some(format!("B{i:06}").into()),
        supplementary: None,
        information: Some(info.to_string()),
        details: Vec::new(),
        information_code: None,
    }
}

proptest! {
    #[test]
    fn read_after_write_is_the_identity_on_canonical_records(
        rows in prop::collection::vec((1i64..100_000_000_000, 0usize..4, "[A-Za-z0-9 .,:+/-]{1,40}"), 0..25),
        opening in -1_000_000_000i64..1_000_000_000,
    ) {
        let marks = [Mark::Credit, Mark::Debit, Mark::ReversalCredit, Mark::ReversalDebit];
        let entries: Vec<Entry> = rows
            .iter()
            .enumerate()
            .map(|(i, (minor, m, info))| {
                // :86: text never starts a line with a tag; keep the generated text on one line, no leading colon.
                let info = format!("/REMI/USTD//{}/EREF/E2E-{i}/", info.trim_start_matches(':'));
                entry(i + 1, *minor, marks[*m], &info)
            })
            .collect();
        let usd = Currency::from_code("USD").unwrap();
        let open = Money::from_minor_units(i128::from(opening), usd).unwrap();
        let text = write_mt940("STMT1", "GB33BUKB20201555555555", "00001/001", open, parse_date("2026-10-29").unwrap(), &entries);
        let read = read_mt940("w.sta", text.as_bytes(), None).unwrap();
        prop_assert_eq!(read.messages.len(), 1);
        let m = &read.messages[0];
        prop_assert_eq!(check_message(m).balance_ok, Some(true));
        let file: std::sync::Arc<str> = "w.sta".into();
        let back = bank_entries(&file, m);
        prop_assert_eq!(back.len(), entries.len());
        for (row, e) in back.iter().zip(&entries) {
            prop_assert_eq!(row.amount, e.amount.amount());
            prop_assert_eq!(row.direction, e.mark.direction());
            prop_assert_eq!(row.reversal, e.mark.is_reversal());
            prop_assert_eq!(row.entry_id.clone(), e.bank_reference.clone().unwrap());
            prop_assert_eq!(row.reference.as_deref().map(str::to_string), Some(format!("E2E-{}", e.index - 1)));
        }
        let _ = Direction::Credit;
    }
}

#[test]
fn charges_in_supplementary_details_reach_the_canonical_entry() {
    let eur = Currency::from_code("EUR").unwrap();
    assert_eq!(
        super::supplementary_charges("/OCMT/EUR11,85//CHGS/EUR0,50/"),
        Some(Money::new(Decimal::new(50, 2), eur))
    );
    assert_eq!(super::supplementary_charges("/CHGS/EUR1,5"), Some(Money::new(Decimal::new(150, 2), eur)));
    assert_eq!(super::supplementary_charges("/OCMT/EUR11,85/"), None);
    assert_eq!(super::supplementary_charges("/CHGS/XX1,00/"), None);
}

/// Found by the hostile corpus (fixtures/hostile/nul_bytes_mt940.sta): a NUL byte was read into `:86:`.
#[test]
fn nul_byte_in_a_field_is_refused_with_its_line() {
    let text = b":20:STMT1\r\n:25:DE89370400440532013000\r\n:28C:1/1\r\n:60F:C261028EUR10,00\r\n:86:A\0B\r\n-\r\n";
    let err = crate::read_mt940_with("nul.sta", text, None, true, |_| Ok(())).unwrap_err();
    assert_eq!(err.line, 5);
    assert!(err.to_string().contains("a NUL byte at byte"), "{err}");
}

/// A 1 GiB `:86:` (tests/cli.rs makes one) is refused before decoding: no line over 64 KiB.
#[test]
fn a_line_over_64_kib_is_refused_before_decoding() {
    let mut text = b":20:STMT1\n:25:DE89370400440532013000\n:86:".to_vec();
    text.extend(std::iter::repeat_n(b'x', crate::LINE_BYTES_MAX + 1));
    let err = crate::read_mt940_with("long.sta", &text, None, true, |_| Ok(())).unwrap_err();
    assert_eq!(err.line, 3);
    assert!(err.to_string().contains("a line longer than 65536 bytes"), "{err}");
}

/// Found by the mt940 fuzz target (fuzz/artifacts/mt940/crash-66273822…): a German `:86:` whose
/// remittance text has a `+` in its first three bytes made the SEPA keyword scan compute `plus - 3`
/// eagerly (`then_some`) and panic on the underflow (release builds check overflow too).
#[test]
fn sepa_plus_at_the_start_of_the_remittance_does_not_underflow() {
    for remittance in ["+", "+X", "A+", "AB+C", "+EREF+1"] {
        let text = format!("166?00GUTSCHRIFT?20{remittance}");
        let (detail, code) = crate::details::parse_information(&text, Direction::Credit);
        assert_eq!(code.as_deref(), Some("166"), "{remittance}");
        let _ = detail;
    }
}
