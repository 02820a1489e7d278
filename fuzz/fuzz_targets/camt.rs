//! The camt reader on arbitrary bytes: it must return (a statement list or an error), never panic,
//! and every statement it returns must be checkable and mappable to canonical rows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use settle_iso20022::{Limits, bank_entries, check_statement, read_camt_all};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_depth: 64, max_run_bytes: 1 << 16 };
    if let Ok((_, statements)) = read_camt_all("fuzz.xml", data, limits) {
        let file: std::sync::Arc<str> = "fuzz.xml".into();
        for s in &statements {
            let _ = check_statement(s);
            let _ = bank_entries(s, &file);
        }
    }
});
