//! The allocator: mimalloc, and the one `unsafe` call settle makes.

/// Hands the memory freed so far back to the OS (`mi_collect(force)`). Parsing a night frees gigabytes
/// (whole-file bytes, parallel chunks' lists) on worker threads; mimalloc keeps freed pages for a while
/// to reuse them and purges them only on later allocator activity, so without this they stayed resident
/// through the matching: at 10^7 orders 1.7 GB above the 7.3 GB the records take (measured with
/// `benches/recon_scale.rs`). Called once per run, after ingest; it takes milliseconds.
#[allow(unsafe_code)]
pub fn release_freed_memory() {
    // SAFETY: mi_collect takes no pointers and may be called from any thread at any time; it only
    // frees pages the allocator holds that no live allocation uses.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
