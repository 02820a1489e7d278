//! The job-spec parser on arbitrary text: an error naming file, line and column, or a spec; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = settle_job::JobSpec::parse("fuzz.toml", text);
    }
});
