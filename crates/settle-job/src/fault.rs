//! The file layer every run, merge and replay does its I/O through, with fault injection for the tests.
//!
//! Unless `SETTLE_FAULT` is set this is plain `std::fs`. The variable holds comma-separated faults:
//!
//! | fault | effect |
//! |---|---|
//! | `abort-write:N` | the Nth write point (a file being written: an output, the payout register, an archived input, counted from 1 in the process) gets half of its first buffer, then the process aborts (a crash, `kill -9`) |
//! | `eio-write:N` | the Nth write point gets half of its first buffer, then the write fails with EIO |
//! | `enospc-write:N` | the same with ENOSPC (disk full) |
//! | `short-writes` | every `write` call takes at most half of what it is given (rounded up): callers must loop |
//! | `eio-fsync:N` | the Nth fsync (of a file or a directory) fails with EIO |
//! | `eio-read:N` | the Nth input read (a file opened or read whole: job spec, inputs, carried open items, register) fails with EIO |
//!
//! The counters are per process and atomic, so the Nth point is the same in every run of the same
//! night only where the run's order of I/O is fixed: it is (inputs are read, then outputs staged in
//! their order; the statements of account are staged on a few threads, so among them "the Nth" may be
//! another file from run to run — the tests only ask that some file fails there).
//! The layer is compiled into every build (one atomic load per file when unset), so the tests exercise
//! the binary that ships; a process with faults set says so (a warning in its log).

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// EIO and ENOSPC (Linux and the BSDs agree on these two).
const EIO: i32 = 5;
const ENOSPC: i32 = 28;

#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    abort_write: Option<usize>,
    eio_write: Option<usize>,
    enospc_write: Option<usize>,
    short_writes: bool,
    eio_fsync: Option<usize>,
    eio_read: Option<usize>,
}

/// Parses `SETTLE_FAULT`'s value; an unknown fault is an error naming it.
fn parse(text: &str) -> Result<Plan, String> {
    let mut plan = Plan::default();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if item == "short-writes" {
            plan.short_writes = true;
            continue;
        }
        let (name, n) = item.split_once(':').ok_or_else(|| format!("`{item}`: expected NAME:N or short-writes"))?;
        let n: usize =
            n.parse().ok().filter(|n| *n > 0).ok_or_else(|| format!("`{item}`: N must be a count from 1"))?;
        let slot = match name {
            "abort-write" => &mut plan.abort_write,
            "eio-write" => &mut plan.eio_write,
            "enospc-write" => &mut plan.enospc_write,
            "eio-fsync" => &mut plan.eio_fsync,
            "eio-read" => &mut plan.eio_read,
            _ => {
                return Err(format!(
                    "`{name}`: unknown fault (abort-write, eio-write, enospc-write, eio-fsync, eio-read, short-writes)"
                ));
            }
        };
        *slot = Some(n);
    }
    Ok(plan)
}

/// The process's faults (none when `SETTLE_FAULT` is unset).
fn plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| match std::env::var("SETTLE_FAULT") {
        Ok(text) => match parse(&text) {
            Ok(plan) => {
                tracing::warn!("fault injection is on: SETTLE_FAULT={text}");
                plan
            }
            Err(e) => {
                eprintln!("error: SETTLE_FAULT: {e}");
                std::process::exit(2);
            }
        },
        Err(_) => Plan::default(),
    })
}

static WRITES: AtomicUsize = AtomicUsize::new(0);
static FSYNCS: AtomicUsize = AtomicUsize::new(0);
static READS: AtomicUsize = AtomicUsize::new(0);

/// Counts one point on `counter` and says whether it is the `at`th.
fn hit(counter: &AtomicUsize, at: Option<usize>) -> bool {
    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
    at == Some(n)
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Abort,
    Error(i32),
}

/// A file being written at a write point: `writer` wraps it. Writes through it follow the plan.
pub struct Faulty<W: Write> {
    inner: W,
    pending: Option<Fault>,
    short: bool,
}

/// Starts a write point: the writer every byte of this file goes through.
pub fn writer<W: Write>(inner: W) -> Faulty<W> {
    let plan = plan();
    let n = WRITES.fetch_add(1, Ordering::SeqCst) + 1;
    let pending = if plan.abort_write == Some(n) {
        Some(Fault::Abort)
    } else if plan.eio_write == Some(n) {
        Some(Fault::Error(EIO))
    } else if plan.enospc_write == Some(n) {
        Some(Fault::Error(ENOSPC))
    } else {
        None
    };
    Faulty { inner, pending, short: plan.short_writes }
}

impl<W: Write> Faulty<W> {
    /// Springs a fault still pending (a file that got no byte): to call before the file is closed.
    pub fn done(&mut self) -> io::Result<()> {
        match self.pending {
            Some(_) => self.write(&[]).map(|_| ()),
            None => Ok(()),
        }
    }

    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for Faulty<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(fault) = self.pending.take() {
            self.inner.write_all(&buf[..buf.len() / 2])?;
            self.inner.flush()?;
            match fault {
                Fault::Abort => std::process::abort(),
                Fault::Error(code) => return Err(io::Error::from_raw_os_error(code)),
            }
        }
        if self.short && buf.len() > 1 {
            return self.inner.write(&buf[..buf.len().div_ceil(2)]);
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes all of `bytes` to `file` as one write point.
pub fn write_file(file: &mut fs::File, bytes: &[u8]) -> io::Result<()> {
    let mut out = writer(file);
    out.write_all(bytes)?;
    out.done()
}

/// fsync of a file or directory.
pub fn sync(file: &fs::File) -> io::Result<()> {
    if hit(&FSYNCS, plan().eio_fsync) {
        return Err(io::Error::from_raw_os_error(EIO));
    }
    file.sync_all()
}

/// Reads a whole input file.
pub fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    if hit(&READS, plan().eio_read) {
        return Err(io::Error::from_raw_os_error(EIO));
    }
    regular(path.as_ref())?;
    fs::read(path)
}

/// Whether `path` is a regular file (a symbolic link to one is followed): the only kind settle reads as
/// an input. /dev/zero would be read until memory is gone, a FIFO would block forever (at its open).
pub fn regular(path: &Path) -> io::Result<()> {
    if fs::metadata(path)?.is_file() {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "not a regular file (a directory, FIFO, socket or device): refused",
    ))
}

/// Reads a whole input file as UTF-8.
pub fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let bytes = read(path)?;
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.utf8_error()))
}

/// Opens an input file to read it as a stream.
pub fn open(path: impl AsRef<Path>) -> io::Result<fs::File> {
    if hit(&READS, plan().eio_read) {
        return Err(io::Error::from_raw_os_error(EIO));
    }
    regular(path.as_ref())?;
    fs::File::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_and_unknown_ones_are_named() {
        let plan = parse("abort-write:3, short-writes,eio-fsync:2,eio-read:1,enospc-write:9").unwrap();
        assert_eq!(plan.abort_write, Some(3));
        assert!(plan.short_writes);
        assert_eq!(
            (plan.eio_fsync, plan.eio_read, plan.enospc_write, plan.eio_write),
            (Some(2), Some(1), Some(9), None)
        );
        assert!(parse("explode:1").unwrap_err().contains("`explode`: unknown fault"));
        assert!(parse("eio-write:0").unwrap_err().contains("count from 1"));
        assert!(parse("eio-write").unwrap_err().contains("expected NAME:N"));
        assert_eq!(parse("").unwrap(), Plan::default());
    }

    #[test]
    fn a_pending_fault_writes_half_then_fails_and_short_writes_still_write_everything() {
        let mut failing = Faulty { inner: Vec::new(), pending: Some(Fault::Error(ENOSPC)), short: false };
        let err = failing.write_all(b"abcdefgh").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(ENOSPC));
        assert_eq!(failing.inner, b"abcd");
        let mut short = Faulty { inner: Vec::new(), pending: None, short: true };
        assert_eq!(short.write(b"abcde").unwrap(), 3);
        short.write_all(b"fghij").unwrap();
        assert_eq!(short.inner, b"abcfghij");
        let mut empty = Faulty { inner: Vec::new(), pending: Some(Fault::Error(EIO)), short: false };
        assert_eq!(empty.done().unwrap_err().raw_os_error(), Some(EIO));
        assert!(empty.done().is_ok(), "a fault springs once");
    }
}
