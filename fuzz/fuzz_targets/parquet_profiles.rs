//! Parquet files through the built-in profiles (seeded with a valid orders file, mutated): an error or
//! rows, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "parquet_guard.rs"]
mod parquet_guard;

fuzz_target!(init: parquet_guard::leave_parquet_panics_to_settles_guard(), |data: &[u8]| {
    let profiles = settle_tabular::builtin_profiles();
    for name in ["orders", "beneficiaries", "stripe_itemized"] {
        let profile = profiles.iter().find(|p| p.name == name).expect("built in");
        let _ = settle_tabular::read_with_profile("input.parquet", data, profile);
    }
});
