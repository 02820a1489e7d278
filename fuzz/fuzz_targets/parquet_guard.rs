//! settle-tabular runs its calls into the parquet crate under `catch_unwind` (the crate asserts on some
//! damaged files) and reports "a damaged Parquet file"; libfuzzer-sys's panic hook would abort on those
//! caught panics before they reach the guard. This hook lets panics raised in the parquet crate's own
//! code unwind to settle's guard; every other panic aborts as before, and one that escaped the guard
//! would still abort in libfuzzer-sys's own `catch_unwind`.
pub fn leave_parquet_panics_to_settles_guard() {
    let abort = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.location().is_some_and(|l| l.file().contains("/parquet-")) {
            return;
        }
        abort(info);
    }));
}
