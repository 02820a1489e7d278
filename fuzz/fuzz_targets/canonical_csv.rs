//! settle's canonical CSV readers on arbitrary bytes: an error or records, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = settle_tabular::read_orders("orders.csv", data);
    let _ = settle_tabular::read_channel_transactions("channel.csv", data);
    let _ = settle_tabular::read_bank_entries("bank.csv", data);
    let _ = settle_tabular::read_rates("rates.csv", data);
    let _ = settle_tabular::read_beneficiaries("beneficiaries.csv", data);
});
