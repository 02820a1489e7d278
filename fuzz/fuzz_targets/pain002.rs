//! The pain.002 reader on arbitrary bytes: statuses or an error naming the file, never a panic; every
//! status it returns names a level and a code, and a rejected one says so consistently.
#![no_main]

use libfuzzer_sys::fuzz_target;
use settle_iso20022::{Limits, read_pain002};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_depth: 64, max_run_bytes: 1 << 16 };
    match read_pain002("fuzz.xml", data, limits) {
        Ok(statuses) => {
            for s in &statuses {
                assert!(s.level.is_some(), "every status has its level: {s:?}");
                assert_eq!(s.is_rejected(), s.status == "RJCT");
            }
        }
        Err(e) => assert!(e.to_string().contains("fuzz.xml"), "an error names its file: {e}"),
    }
});
