//! The ECB rate readers (history CSV, daily CSV, XML, zip) on arbitrary bytes, then a table and a
//! lookup over what they read: an error or rates, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Force each layout in turn by its leading bytes, and the bytes as they come.
    for prefix in [&b""[..], b"Date,", b"Date, ", b"<Cube>", b"PK\x03\x04"] {
        let bytes = [prefix, data].concat();
        if let Ok(file) = settle_fx::ecb::read_ecb("rates", &bytes) {
            if let Ok(table) = settle_fx::RateTable::new(file.rates.iter().cloned()) {
                if let Some(first) = file.rates.first() {
                    let _ = table.lookup(first.base, first.quote, first.date, 4);
                    let _ = table.lookup(first.quote, first.base, first.date, 4);
                }
            }
        }
    }
});
