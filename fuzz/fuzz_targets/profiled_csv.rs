//! The profile-driven reader on arbitrary bytes (as CSV and framed as Parquet), with every built-in
//! profile and with detection: an error or rows, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "parquet_guard.rs"]
mod parquet_guard;

fuzz_target!(init: parquet_guard::leave_parquet_panics_to_settles_guard(), |data: &[u8]| {
    let profiles = settle_tabular::builtin_profiles();
    // The first byte picks a profile, so each gets its share of inputs.
    let Some((pick, body)) = data.split_first() else { return };
    let profile = &profiles[usize::from(*pick) % profiles.len()];
    let _ = settle_tabular::read_with_profile("report.csv", body, profile);
    let all: Vec<&settle_tabular::Profile> = profiles.iter().collect();
    if let Ok(found) = settle_tabular::detect_profile("report.csv", body, &all) {
        let _ = settle_tabular::read_with_profile("report.csv", body, found);
    }
    // The same bytes framed as Parquet (its magic at both ends), through the Parquet path.
    let parquet = [&b"PAR1"[..], body, b"PAR1"].concat();
    let _ = settle_tabular::read_with_profile("report.parquet", &parquet, profile);
    let _ = settle_tabular::detect_profile("report.parquet", &parquet, &all);
});
