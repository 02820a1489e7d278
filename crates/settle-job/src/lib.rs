//! settle-job: job specs, the nightly pipeline, run directories and manifests.
//!
//! `run_job` reads every input of a job (in parallel, results in spec order), reconciles, computes
//! payouts, renders every output in memory, and only then writes the run directory: each file atomically,
//! `manifest.json` last. A failed run writes nothing under a final name.
#![forbid(unsafe_code)]

pub mod archive;
pub mod audit;
pub mod bankfiles;
pub mod carry;
pub mod diff;
pub mod fault;
pub mod ledger;
mod lock;
pub mod merge;
pub mod nights;
pub mod partition;
mod pipeline;
pub mod profiles;
pub mod rates;
pub mod register;
pub mod replay;
pub mod score;
pub mod seal;
mod spec;
mod write;

pub use merge::{MergeOptions, merge_job};
pub use pipeline::{JobError, RunOptions, RunOutcome, concat, run_job};
pub use spec::{CalendarName, InputFile as InputFileSpec, InputRole, JobSpec, SpecError, job_schema_json};
pub use write::write_atomic;
