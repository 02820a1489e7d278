//! The MT940/MT942 reader on arbitrary bytes: messages or an error naming file, line and tag, never a
//! panic; every message it returns can be checked and mapped to canonical rows.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = settle_mt940::read_mt940("fuzz.sta", data, None) {
        let name: std::sync::Arc<str> = "fuzz.sta".into();
        for m in &file.messages {
            let _ = settle_mt940::check_message(m);
            let _ = settle_mt940::bank_entries(&name, m);
        }
    }
});
