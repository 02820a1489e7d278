//! The `settle` command line: a thin layer over settle-job and settle-gen.
//!
//! Data goes to stdout, logs and errors to stderr. Exit codes: 0 everything settled, 1 completed with
//! exceptions or open items, 2 error.
#![deny(unsafe_code)]

mod alloc;
mod log;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// mimalloc: settle builds many small strings per record; measured here it reads MT940 into canonical
/// rows about 20 % faster than the system allocator. Output bytes do not depend on the allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use settle_core::{Date, Decimal, parse_date};

#[derive(Parser)]
#[command(
    name = "settle",
    version,
    about = "Deterministic settlement batch processor: reconcile orders, channel reports and bank statements, and compute payouts",
    long_about = "settle runs a nightly settlement job: it reads orders, channel settlement reports, bank entries, \
reference rates and beneficiaries, reconciles the money trail (stage A: order ↔ channel transaction; stage B: \
channel payout batch ↔ bank credit), computes each beneficiary's payout, and writes a run directory with \
summary.json, matches.csv, exceptions.csv, payouts.csv, conversions.csv and manifest.json.\n\n\
Same inputs, job spec and settle version give byte-identical outputs.\n\n\
Exit codes: 0 everything settled, 1 completed with exceptions or open items, 2 error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How stderr is written: `text` for people (a spinner on a terminal), `json` (one object per
    /// event, phases included) for schedulers.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: log::LogFormat,
    /// Errors only on stderr.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Also the pipeline's phases on stderr (text format).
    #[arg(long, short, global = true)]
    verbose: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run a job for one business date and write its run directory OUT/<job>/<business-date>/.
    ///
    /// Reads the job's inputs and what its previous run left open, reconciles, computes payouts and,
    /// when the job names a debtor account (`[payouts.debtor]`), writes pain.001 payout files; the
    /// payout register OUT/<job>/payout_register.csv keeps every emitted payout out of any new file.
    Run(RunArgs),
    /// Make the run directory of a night that was run in partitions (`settle run --partition I/N` for
    /// every I): the same bytes as one `settle run` of the night, payout files and register included.
    ///
    /// Takes the job's lock; refuses when a partition is missing or incomplete, when the partitions were
    /// run with other inputs, spec or settle, or when the payout register changed since they ran.
    /// Exit codes as `settle run`: 0 all settled, 1 exceptions or open items, 2 error.
    Merge(MergeArgs),
    /// Recompute a recorded run from its manifest and the input archive (OUT/.archive) into a temporary
    /// directory, and compare every output with the manifest's hashes, and the run directory's files
    /// with them too. The manifest's root hash is checked first: an edited manifest is not replayed.
    ///
    /// Exit codes: 0 every output identical; 1 drift or a changed run directory (the files that differ are
    /// listed); 2 error, e.g. an edited manifest, an archived input missing or corrupted (named).
    Replay(ReplayArgs),
    /// Check a run directory against its manifest: the root hash, every output's bytes and sha256, every
    /// archived input, and with --pubkey the manifest's ed25519 signature.
    ///
    /// Exit codes: 0 intact; 1 something differs (each listed); 2 error.
    Verify(VerifyArgs),
    /// Check the invariants of every completed run under OUT from its files alone: integrity,
    /// conservation, every record in one place, nothing lost between nights, no payout twice.
    ///
    /// Each run against its manifest; conservation per stage, record kind and currency (input =
    /// matched + open + exception + rejected, in count and amount); every record placed by exactly one
    /// row of matches.csv or exceptions.csv; every row read taken into its stage, or the open items
    /// carried in being exactly what the previous night left; payout ids and EndToEndIds once in each
    /// payout register, each in the pain.001 file it names, no EndToEndId or MsgId in two files and no
    /// payout id in two nights of the whole archive.
    ///
    /// Exit codes: 0 every invariant holds; 1 something is broken (each listed); 2 error (no runs).
    CheckArchive(CheckArchiveArgs),
    /// Trends across nights from the Parquet tables of every run under OUT: match rates per stage and
    /// channel, open items by age, FX cost, payouts, exceptions opened and closed; as CSV files and
    /// history.html in --out (default OUT/history).
    ///
    /// Exit codes: 0 written; 2 error (e.g. polars' totals differ from the runs' summaries).
    History(HistoryArgs),
    /// Say what changed between two run directories: inputs and outputs by hash, matches gained or
    /// lost, exceptions opened or closed, payouts changed.
    ///
    /// Exit codes: 0 the runs have the same inputs and outputs; 1 they differ; 2 error.
    Diff(DiffArgs),
    /// Score a run against a generated day's truth.csv: precision and recall of matches per stage, and
    /// every record's outcome (matched or reason code) against the expected one. Exit 0 when the run
    /// places everything as truth says, 1 otherwise.
    Score(ScoreArgs),
    /// Generate a realistic day of any size (inputs, job.toml and truth.csv) for tests and benchmarks.
    Gen(GenArgs),
    /// Check bank statement files (camt.052/053/054, MT940/MT942): balances, transaction summaries,
    /// periods, duplicates across files and chain gaps. One record per statement, report or message.
    ///
    /// Exit codes: 0 every file read and every check that can be made holds; 1 some check failed;
    /// 2 a file could not be read.
    Check(CheckArgs),
    /// Read bank files (camt.052/053/054, MT940/MT942, bank CSV) or channel reports (Adyen, Stripe,
    /// PayPal, Checkout.com, any CSV with a profile) into canonical rows, written as CSV (`.csv`) or JSON
    /// Lines (`.jsonl`) by the extension of --out.
    ///
    /// Without --profile, XML and MT940 files are bank statements (pain.002 payment status reports give
    /// one row per group, batch or transfer status) and CSV files are matched to a built-in profile by
    /// their header. Exit codes: 0 read, every check holds; 1 read, some check failed (listed
    /// on stderr with lines); 2 a file could not be read.
    Ingest(IngestArgs),
    /// List the built-in CSV profiles, or print one as TOML (`settle profiles show NAME`) to copy and
    /// adapt for another channel or bank.
    Profiles(ProfilesArgs),
    /// Convert an amount at a reference rate: prints the amount rounded to the target currency's minor
    /// units, the rate, the rate date used (an earlier one when the date has none: weekends, TARGET
    /// holidays), the source and the rounding residual.
    ///
    /// Rates come from --rates: the ECB's history CSV, daily CSV or XML feed, or settle's generic rates
    /// CSV (`date,base,quote,rate,source`). Exit codes: 0 converted; 2 no rate (with the last one
    /// available), a discontinued currency, or an unreadable file.
    Convert(ConvertArgs),
    /// Reference rates: `settle rates show --date DATE --rates FILE` lists the rates of the latest
    /// published day on or before DATE.
    Rates(RatesArgs),
    /// The payout register (OUT/<job>/payout_register.csv): `settle register rebuild OUT/<job>` makes it
    /// again from the job's run directories when it was deleted, cut back or restored from an older
    /// backup (a night refuses to run against such a register).
    ///
    /// Each complete night's registered_payouts.csv (its payouts) and returned_payouts.csv (the payouts
    /// it returned to balances) are checked against its manifest, put together in date order, checked
    /// against every night again and written atomically under the job's lock; the register that was
    /// there is kept as payout_register.csv.replaced. Exit codes: 0 rebuilt; 2 error (a night's files
    /// differ from its manifest: named).
    Register(RegisterArgs),
}

#[derive(Args)]
struct RegisterArgs {
    #[command(subcommand)]
    action: RegisterAction,
}

#[derive(Subcommand)]
enum RegisterAction {
    /// Make the job's payout register again from its run directories.
    Rebuild {
        /// The job's directory: OUT/<job>, holding its run directories OUT/<job>/<business date>/.
        job_dir: PathBuf,
    },
}

#[derive(Args)]
struct ConvertArgs {
    /// The amount, point decimal (`1234.56`).
    amount: String,
    /// ISO 4217 code of the amount.
    from: String,
    /// ISO 4217 code to convert to.
    to: String,
    /// The date whose rate applies (YYYY-MM-DD).
    #[arg(long, value_parser = date_arg)]
    date: Date,
    #[command(flatten)]
    sources: RateSources,
    /// A rate up to this many calendar days before --date may be used.
    #[arg(long, default_value_t = 4)]
    max_rate_age_days: u32,
    /// half-even, half-up, down or up.
    #[arg(long, default_value = "half-even", value_parser = rounding_arg)]
    rounding: settle_core::RoundingMode,
    /// Print one JSON object: amount, currency, rate, rate_date, source, residual (numbers as strings).
    #[arg(long)]
    json: bool,
}

/// Where `convert` and `rates show` take their rates from.
#[derive(Args)]
struct RateSources {
    /// A rate file (ECB history/daily CSV or XML, or the generic rates CSV); repeat to combine.
    #[arg(long = "rates", required_unless_present = "store")]
    rates: Vec<PathBuf>,
    /// A rates store (`settle rates fetch`): its latest ECB snapshot is used too.
    #[arg(long)]
    store: Option<PathBuf>,
}

#[derive(Args)]
struct RatesArgs {
    #[command(subcommand)]
    command: RatesCommand,
}

#[derive(Subcommand)]
enum RatesCommand {
    /// Download reference rates into a local store of snapshots (each kept under its sha256, with an
    /// index.json): connect and read timeouts, bounded retries with backoff, conditional requests (a
    /// 304 keeps the last snapshot). Exit codes: 0 stored or unchanged; 2 the download failed.
    Fetch {
        /// The provider: `ecb` (the ECB's XML feeds).
        #[arg(long, default_value = "ecb")]
        source: String,
        /// Fetch the rates from this date on (the ECB's 90-day feed when recent, else the full history).
        #[arg(long, value_parser = date_arg)]
        since: Option<Date>,
        /// The store directory.
        #[arg(long, default_value = "rates-store")]
        store: PathBuf,
        /// The feeds' base URL (a mirror, or a test server).
        #[arg(long, default_value = "https://www.ecb.europa.eu/stats/eurofxref")]
        url: String,
    },
    /// Print the rates of the latest published day on or before --date: `DATE BASE QUOTE RATE SOURCE`.
    Show {
        #[arg(long, value_parser = date_arg)]
        date: Date,
        #[command(flatten)]
        sources: RateSources,
        /// One JSON object per rate.
        #[arg(long)]
        json: bool,
    },
}

fn date_arg(text: &str) -> Result<Date, String> {
    parse_date(text).map_err(|e| e.to_string())
}

fn rounding_arg(text: &str) -> Result<settle_core::RoundingMode, String> {
    use settle_core::RoundingMode::*;
    [HalfEven, HalfUp, Down, Up]
        .into_iter()
        .find(|m| m.as_str() == text)
        .ok_or_else(|| format!("{text:?}: expected half-even, half-up, down or up"))
}

#[derive(Args)]
struct ProfilesArgs {
    #[command(subcommand)]
    command: Option<ProfilesCommand>,
}

#[derive(Subcommand)]
enum ProfilesCommand {
    /// Print a built-in profile as TOML.
    Show {
        /// The profile's name (see `settle profiles`).
        name: String,
    },
}

#[derive(Args)]
struct IngestArgs {
    /// Bank files, read in parallel; rows are written in the order of the files, then of the entries.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output file: `.csv` (canonical layout plus statement columns) or `.jsonl` (every field, with the
    /// transaction details).
    #[arg(long)]
    out: PathBuf,
    /// One row per transaction detail instead of per entry (batch entries split for matching).
    #[arg(long)]
    flatten: bool,
    /// Text encoding of MT940 files (utf-8, iso-8859-1, windows-1252, cp850, cp852) [default: UTF-8 if
    /// valid, else by evidence, with a warning].
    #[arg(long, value_parser = parse_encoding)]
    encoding: Option<settle_job::bankfiles::TextEncoding>,
    /// Read every file with this CSV profile: a built-in name (`settle profiles`), `auto` (by the
    /// header), or a profile file (.toml). Channel-report profiles write channel transactions.
    #[arg(long)]
    profile: Option<String>,
}

#[derive(Args)]
struct CheckArgs {
    /// Bank files: camt (any version .02 to .13; UTF-8 or ISO-8859-1) or MT940/MT942, told apart by content.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// One JSON object per statement and line (amounts as decimal strings), instead of a table.
    #[arg(long)]
    json: bool,
    /// Text encoding of MT940 files (utf-8, iso-8859-1, windows-1252, cp850, cp852) [default: UTF-8 if
    /// valid, else by evidence, with a warning].
    #[arg(long, value_parser = parse_encoding)]
    encoding: Option<settle_job::bankfiles::TextEncoding>,
}

#[derive(Args)]
struct HistoryArgs {
    /// The output root holding the runs (OUT/<job>/<date>/).
    out_root: PathBuf,
    /// Only nights on or after this business date.
    #[arg(long, value_parser = date_arg)]
    since: Option<Date>,
    /// Only nights on or before this business date.
    #[arg(long, value_parser = date_arg)]
    until: Option<Date>,
    /// Where to write the history (default OUT/history).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct VerifyArgs {
    /// The run directory, OUT/<job>/<business date>.
    run_dir: PathBuf,
    /// The ed25519 public key the manifest was signed for: PEM (`openssl pkey -pubout`) or 64 hex digits.
    #[arg(long)]
    pubkey: Option<PathBuf>,
}

#[derive(Args)]
struct CheckArchiveArgs {
    /// The output root: OUT/<job>/<business date>/ for every run, with OUT/.archive.
    out: PathBuf,
}

#[derive(Args)]
struct DiffArgs {
    /// The earlier (or reference) run directory.
    run_a: PathBuf,
    /// The run directory compared with it.
    run_b: PathBuf,
}

#[derive(Args)]
struct ScoreArgs {
    /// The run directory, OUT/<job>/<business date>.
    run_dir: PathBuf,
    /// The truth.csv written by `settle gen` (stage, record_kind, record_id, expected, expected_with).
    truth: PathBuf,
    /// text: a table for people; json: the same figures for machines.
    #[arg(long, value_enum, default_value = "text")]
    format: ScoreFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ScoreFormat {
    Text,
    Json,
}

#[derive(Args)]
struct ReplayArgs {
    /// The run directory, OUT/<job>/<business date>.
    run_dir: PathBuf,
    /// Write the recomputed run under this directory (as OUT) instead of a temporary one.
    #[arg(long)]
    keep: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    /// The job spec (TOML), e.g. jobs/demo.toml.
    job: PathBuf,
    /// The business date to settle (YYYY-MM-DD); overrides `job.business_date`.
    #[arg(long, value_parser = parse_date_arg)]
    date: Option<Date>,
    /// Root of run directories; overrides `output.dir` of the job spec.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Recompute a business date that already has a run directory (outputs are byte-identical when
    /// nothing changed). Payout files already emitted are rebuilt and must come out the same; payouts
    /// emitted before are never put into a new file.
    #[arg(long)]
    force: bool,
    /// Sign manifest.json with this ed25519 private key (PKCS#8 PEM from `openssl genpkey -algorithm
    /// ed25519`, or 64 hex digits): writes manifest.json.sig; `settle verify --pubkey` checks it.
    #[arg(long)]
    sign_key: Option<PathBuf>,
    /// Settle only partition I of N (`0/4` … `3/4`): the beneficiaries whose id hashes to I (first 8
    /// bytes of SHA-256, big-endian, mod N), with their orders and channel rows, into
    /// OUT/<job>/.partitions/<date>/I-of-N/; `settle merge` then makes the run directory from all N.
    /// Every partition reads every input. See docs/scale-out.md.
    #[arg(long, value_parser = parse_partition_arg, value_name = "I/N")]
    partition: Option<settle_job::partition::Partition>,
    /// Run this night although the job already has later nights, then recompute each later night after
    /// it, in date order (as with --force). Without it such a night is refused: later nights were built
    /// on it (open items, balances, reserves, the ledger). Payouts already emitted are never emitted
    /// again: a later night whose payout files would change stops with an error.
    #[arg(long)]
    and_later: bool,
}

#[derive(Args)]
struct MergeArgs {
    /// The job spec (TOML) the partitions were run with.
    job: PathBuf,
    /// The business date (YYYY-MM-DD); overrides `job.business_date`.
    #[arg(long, value_parser = parse_date_arg)]
    date: Option<Date>,
    /// Root of run directories; overrides `output.dir` of the job spec.
    #[arg(long)]
    out: Option<PathBuf>,
    /// How many partitions the night was run in (else the one count found under
    /// OUT/<job>/.partitions/<date>/).
    #[arg(long)]
    partitions: Option<u32>,
    /// Replace an existing run directory of the date (as `settle run --force`).
    #[arg(long)]
    force: bool,
    /// Sign manifest.json with this ed25519 private key (as `settle run --sign-key`).
    #[arg(long)]
    sign_key: Option<PathBuf>,
    /// Merge this night although the job has later nights (then recompute those with
    /// `settle run --force --and-later`, one night at a time).
    #[arg(long)]
    and_later: bool,
}

fn parse_partition_arg(text: &str) -> Result<settle_job::partition::Partition, String> {
    settle_job::partition::Partition::parse(text)
}

#[derive(Args)]
struct GenArgs {
    /// Number of orders (sales); refunds, chargebacks and injected exceptions come on top or instead.
    /// 0 writes no day (with --camt-entries: only the large statement).
    #[arg(long, default_value_t = 0)]
    orders: u64,
    /// Also write `statement_large.xml`: one balanced camt.053.001.08 statement with this many entries
    /// (500 000 make about 350 MB), for the reader's benchmarks.
    #[arg(long)]
    camt_entries: Option<u64>,
    /// Also write `statement_large.sta`: MT940 messages of 1 000 entries each, German GVC `:86:`
    /// (450 000 entries make about 90 MB), for the reader's benchmarks.
    #[arg(long)]
    mt940_entries: Option<u64>,
    /// Seed of the generator: the same seed and options give the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Directory to write into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Business date of the generated job (2026-10-31 is a Saturday: rates fall back to Friday).
    #[arg(long, value_parser = parse_date_arg, default_value = "2026-10-31")]
    date: Date,
    /// Name of the generated job.
    #[arg(long, default_value = "gen")]
    job_name: String,
    /// Beneficiaries [default: max(10, orders / 200)].
    #[arg(long)]
    beneficiaries: Option<u64>,
    /// Fraction of orders for each injected exception kind (count = round(orders × rate)).
    #[arg(long, default_value = "0.005", value_parser = parse_rate)]
    exception_rate: Decimal,
    /// Overrides --exception-rate for orders with no channel transaction.
    #[arg(long, value_parser = parse_rate)]
    rate_no_channel_transaction: Option<Decimal>,
    /// Overrides --exception-rate for channel charges whose order is missing.
    #[arg(long, value_parser = parse_rate)]
    rate_no_order: Option<Decimal>,
    /// Overrides --exception-rate for channel amounts that differ from the order.
    #[arg(long, value_parser = parse_rate)]
    rate_amount_mismatch: Option<Decimal>,
    /// Overrides --exception-rate for duplicated channel rows.
    #[arg(long, value_parser = parse_rate)]
    rate_duplicate: Option<Decimal>,
    /// Overrides --exception-rate for chargebacks.
    #[arg(long, value_parser = parse_rate)]
    rate_chargeback: Option<Decimal>,
    /// Bank credits short by a bank fee.
    #[arg(long, default_value_t = 1)]
    short_credits: u64,
    /// Bank credits that are no channel payout (a customer's wire).
    #[arg(long, default_value_t = 1)]
    stray_credits: u64,
    /// Merchant accounts per channel: each pays out its own batch per booking day, so the bank
    /// statements hold about 2 channels × N accounts × 2 days credits (25 000 gives 100 000).
    #[arg(long, default_value_t = 1)]
    merchant_accounts: u64,
    /// The night's place in a sequence of nights generated with one seed and run one after the other
    /// into one OUT (consecutive --date values): the same beneficiaries every night, each night's own
    /// rows, batch ids and bank entries, so carried open items never collide. 0: a day on its own.
    #[arg(long, default_value_t = 0)]
    night: u64,
}

fn parse_date_arg(text: &str) -> Result<Date, String> {
    parse_date(text).map_err(|e| e.to_string())
}

fn parse_encoding(text: &str) -> Result<settle_job::bankfiles::TextEncoding, String> {
    settle_job::bankfiles::TextEncoding::parse(text)
        .ok_or_else(|| format!("{text:?}: expected utf-8, iso-8859-1, windows-1252, cp850 or cp852"))
}

fn parse_rate(text: &str) -> Result<Decimal, String> {
    let value: Decimal = text.trim().parse().map_err(|_| format!("{text:?}: expected a fraction such as 0.005"))?;
    if value < Decimal::ZERO || value > Decimal::ONE {
        return Err(format!("{text:?}: expected a fraction between 0 and 1"));
    }
    Ok(value)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    log::init(cli.log_format, cli.quiet, cli.verbose);
    // The parquet crate asserts on some damaged files; settle-tabular catches those panics and reports
    // the file as damaged, so their message and backtrace are not printed. Every other panic is.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.location().is_some_and(|l| l.file().contains("/parquet-")) {
            default_hook(info);
        }
    }));
    // A panic is a bug in settle, never an answer about the input: it ends with exit 2 (error), after
    // the panic message and backtrace, not Rust's 101, so schedulers see one of the documented codes.
    // Nothing half-done is visible: outputs become visible only at the commit, the manifest last.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch(cli.command)));
    let code = outcome.unwrap_or_else(|_| {
        fail(
            "settle stopped on an internal error (a bug; the panic message is above)",
            Some("please report it with the command and, if you can, the input that caused it; rerunning after a fix completes the night with the same bytes".into()),
        )
    });
    log::finish();
    code
}

fn dispatch(command: Command) -> ExitCode {
    match command {
        Command::Run(args) => run(args),
        Command::Merge(args) => merge(args),
        Command::Replay(args) => replay(args),
        Command::Diff(args) => diff(args),
        Command::Score(args) => score(args),
        Command::Verify(args) => verify(args),
        Command::CheckArchive(args) => check_archive(args),
        Command::History(args) => history(args),
        Command::Gen(args) => generate(args),
        Command::Check(args) => check(args),
        Command::Ingest(args) => ingest(args),
        Command::Profiles(args) => profiles(args),
        Command::Convert(args) => convert(args),
        Command::Rates(args) => rates(args),
        Command::Register(args) => register(args),
    }
}

fn register(args: RegisterArgs) -> ExitCode {
    let RegisterAction::Rebuild { job_dir } = args.action;
    match settle_job::register::rebuild(&job_dir) {
        Ok(done) => {
            let mut out = String::new();
            let _ = writeln!(out, "register       {}", done.path.display());
            let _ = writeln!(
                out,
                "payouts        {} from {} nights ({} returned)",
                done.payouts, done.nights, done.returned
            );
            if let Some(kept) = &done.kept {
                let _ = writeln!(out, "replaced       kept as {}", kept.display());
            }
            print_data(&out);
            for date in &done.incomplete {
                log::warning(&format!(
                    "the night of {date} is incomplete: its payouts are not in the register; run its command again to complete it (the same payout files, never new ones)"
                ));
            }
            ExitCode::SUCCESS
        }
        Err(err) => fail(&err.to_string(), err.hint()),
    }
}

fn fetch_rates(source: &str, since: Option<Date>, store: &std::path::Path, url: &str) -> ExitCode {
    if source != "ecb" {
        return fail(&format!("unknown rate source {source:?}"), Some("the source is `ecb`".into()));
    }
    // Today (UTC) only picks the ECB feed; it is never written into run outputs.
    let days = jiff::Timestamp::now().as_second().div_euclid(86_400);
    let today = jiff::civil::date(1970, 1, 1)
        .checked_add(jiff::Span::new().days(days))
        .unwrap_or(jiff::civil::date(1970, 1, 1));
    let provider = settle_fx::fetch::Ecb { base_url: url.to_string(), today };
    match settle_fx::fetch::fetch_into_store(&provider, since, store, settle_fx::fetch::FetchPolicy::default()) {
        Ok(fetched) => {
            let (what, s) = match &fetched {
                settle_fx::fetch::Fetched::Stored(s) => ("stored", s),
                settle_fx::fetch::Fetched::Unchanged(s) => ("unchanged", s),
            };
            let path = settle_fx::fetch::snapshot_path(store, "ecb", s);
            println!("{}", path.display());
            log::status(&format!(
                "{what}: {} days up to {} from {} ({} bytes, sha256 {})",
                s.days,
                s.newest.as_deref().unwrap_or("-"),
                s.url,
                s.bytes,
                s.sha256
            ));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string(), Some("--url sets another address; the store keeps the last snapshot".into())),
    }
}

/// Reads rate files (and the latest snapshot of a store) into one table.
fn rate_table(sources: &RateSources) -> Result<settle_fx::RateTable, ExitCode> {
    let mut paths = sources.rates.clone();
    if let Some(store) = &sources.store {
        let snapshots = settle_fx::fetch::snapshots(store, "ecb").map_err(|e| fail(&e.to_string(), None))?;
        let Some(latest) = snapshots.last() else {
            return Err(fail(
                &format!("the rates store {} has no ECB snapshot", store.display()),
                Some("`settle rates fetch --store DIR` downloads one".into()),
            ));
        };
        paths.push(settle_fx::fetch::snapshot_path(store, "ecb", latest));
    }
    let mut rates = Vec::new();
    for path in &paths {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| fail(&format!("cannot read {name}: {e}"), None))?;
        let (mut read, _) = settle_job::rates::read_rate_file(&name, &bytes).map_err(|e| fail(&e.to_string(), None))?;
        rates.append(&mut read);
    }
    let table = settle_fx::RateTable::new(rates).map_err(|e| fail(&e.to_string(), None))?;
    table.check_plausible(settle_fx::DEFAULT_MAX_RATE_CHANGE_PERCENT).map_err(|e| fail(&e.to_string(), None))?;
    Ok(table)
}

fn convert(args: ConvertArgs) -> ExitCode {
    let currency = |code: &str| {
        settle_core::Currency::from_code_ignore_case(code)
            .map_err(|e| fail(&e.to_string(), Some("give ISO 4217 codes such as EUR, USD, JPY".into())))
    };
    let (from, to) = match (currency(&args.from), currency(&args.to)) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let money = match settle_core::parse_amount(
        &args.amount,
        settle_core::AmountFormat::POINT,
        from,
        settle_core::ExtraDigits::Allow,
    ) {
        Ok(m) => m,
        Err(e) => return fail(&e.to_string(), None),
    };
    let table = match rate_table(&args.sources) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let policy = settle_fx::ConversionPolicy { max_rate_age_days: args.max_rate_age_days, rounding: args.rounding };
    let c = match table.convert(money, to, args.date, policy) {
        Ok(c) => c,
        Err(e @ settle_fx::FxError::NoRate { .. }) => {
            return fail(
                &e.to_string(),
                Some("--max-rate-age-days allows older rates; --rates adds rate files".into()),
            );
        }
        Err(e) => return fail(&e.to_string(), None),
    };
    let amount = settle_core::format_minor(c.to.amount(), to);
    if args.json {
        let value = serde_json::json!({
            "amount": amount,
            "currency": to.code(),
            "rate": c.rate.rate.to_string(),
            "rate_date": c.rate.rate_date.to_string(),
            "requested_date": c.rate.requested_date.to_string(),
            "source": c.rate.source,
            "path": c.rate.path.describe(),
            "residual": c.residual.to_string(),
            "rounding": args.rounding.as_str(),
        });
        println!("{value}");
    } else {
        println!(
            "{} {} = {amount} {} at {} ({}, {}{}; {}), residual {}",
            c.from.amount(),
            from,
            to,
            c.rate.rate,
            c.rate.source,
            c.rate.rate_date,
            if c.rate.is_fallback() { format!(" for {}", c.rate.requested_date) } else { String::new() },
            c.rate.path.describe(),
            c.residual
        );
    }
    ExitCode::SUCCESS
}

fn rates(args: RatesArgs) -> ExitCode {
    let (date, sources, json) = match args.command {
        RatesCommand::Show { date, sources, json } => (date, sources, json),
        RatesCommand::Fetch { source, since, store, url } => return fetch_rates(&source, since, &store, &url),
    };
    let table = match rate_table(&sources) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let Some(day) = table.latest_date_on_or_before(date) else {
        return fail(&format!("no rates on or before {date} in the given files"), None);
    };
    let mut out = String::new();
    for (base, quote, rate, source) in table.published_on(day) {
        if json {
            let value = serde_json::json!({
                "date": day.to_string(), "base": base.code(), "quote": quote.code(), "rate": rate.to_string(), "source": source,
            });
            let _ = writeln!(out, "{value}");
        } else {
            let _ = writeln!(out, "{day} {base} {quote} {rate} {source}");
        }
    }
    print!("{out}");
    if day != date {
        log::note(&format!("no rates on {date}; these are of {day}"));
    }
    ExitCode::SUCCESS
}

fn fail(message: &str, hint: Option<String>) -> ExitCode {
    log::error(message, hint.as_deref());
    ExitCode::from(2)
}

fn history(args: HistoryArgs) -> ExitCode {
    let runs = match settle_report::history::runs(&args.out_root, args.since, args.until) {
        Ok(runs) => runs,
        Err(err) => return fail(&err.to_string(), None),
    };
    if runs.is_empty() {
        return fail(
            &format!("no completed runs with Parquet tables under {}", args.out_root.display()),
            Some("point at the output root of `settle run` (OUT, holding OUT/<job>/<date>/)".into()),
        );
    }
    let files = match settle_report::history::history(&runs) {
        Ok(files) => files,
        Err(err) => return fail(&err.to_string(), None),
    };
    let dir = args.out.unwrap_or_else(|| args.out_root.join("history"));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return fail(&format!("cannot create {}: {e}", dir.display()), None);
    }
    let mut out = String::new();
    for (name, bytes) in &files {
        if let Err(e) = settle_job::write_atomic(&dir, name, bytes) {
            return fail(&format!("cannot write {}: {e}", dir.join(name).display()), None);
        }
        let _ = writeln!(out, "{}", dir.join(name).display());
    }
    print_data(&out);
    let jobs: std::collections::BTreeSet<&String> = runs.iter().map(|r| &r.job).collect();
    log::status(&format!("history of {} runs ({} jobs)", runs.len(), jobs.len()));
    ExitCode::SUCCESS
}

fn verify(args: VerifyArgs) -> ExitCode {
    let key = match args.pubkey.as_deref().map(settle_job::seal::read_public_key).transpose() {
        Ok(key) => key,
        Err(err) => return fail(&err.to_string(), None),
    };
    let problems = match settle_job::seal::verify(&args.run_dir, key.as_ref()) {
        Ok(problems) => problems,
        Err(err) => return fail(&err.to_string(), err.hint()),
    };
    let mut out = String::new();
    for p in &problems {
        let _ = writeln!(out, "problem  {}", p.what);
    }
    if problems.is_empty() {
        let signed = if key.is_some() { ", signature valid" } else { "" };
        let _ = writeln!(
            out,
            "intact   {}: root hash, outputs and archived inputs match the manifest{signed}",
            args.run_dir.display()
        );
    }
    print_data(&out);
    if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn check_archive(args: CheckArchiveArgs) -> ExitCode {
    let check = match settle_job::audit::check_archive(&args.out) {
        Ok(check) => check,
        Err(err) => {
            return fail(
                &err.to_string(),
                Some("point at the output root of `settle run` (OUT, holding OUT/<job>/<date>/)".into()),
            );
        }
    };
    print_data(&settle_job::audit::render(&check));
    for note in &check.notes {
        log::note(note);
    }
    let broken = check.runs.iter().filter(|r| !r.problems.is_empty()).count();
    let what = format!(
        "{} runs of {} jobs, {} payouts in {} pain.001 files",
        check.runs.len(),
        check.jobs,
        check.payouts,
        check.payout_files
    );
    if check.holds() {
        log::status(&format!("every invariant holds: {what}"));
        ExitCode::SUCCESS
    } else {
        log::status(&format!("invariants broken: {broken} runs, {} across runs ({what})", check.problems.len()));
        ExitCode::from(1)
    }
}

fn diff(args: DiffArgs) -> ExitCode {
    let diff = match settle_job::diff::diff(&args.run_a, &args.run_b) {
        Ok(diff) => diff,
        Err(err) => return fail(&err.to_string(), err.hint()),
    };
    // At most this many items of a list are printed; the count is always given.
    const SHOWN_MAX: usize = 20;
    let mut out = String::new();
    for (role, path, what) in &diff.inputs {
        let _ = writeln!(out, "input    {what:<8} {role} {path}");
    }
    for (path, what) in &diff.outputs {
        let _ = writeln!(out, "output   {what:<8} {path}");
    }
    let lists = [
        ("matches gained", &diff.matches_gained),
        ("matches lost", &diff.matches_lost),
        ("exceptions opened", &diff.exceptions_opened),
        ("exceptions closed", &diff.exceptions_closed),
        ("payouts changed", &diff.payouts_changed),
    ];
    for (title, items) in lists {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title}: {}", items.len());
        for item in items.iter().take(SHOWN_MAX) {
            let _ = writeln!(out, "  {item}");
        }
        if items.len() > SHOWN_MAX {
            let _ = writeln!(out, "  … and {} more", items.len() - SHOWN_MAX);
        }
    }
    if diff.is_empty() {
        let _ = writeln!(out, "same inputs and outputs");
    }
    print_data(&out);
    if diff.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn score(args: ScoreArgs) -> ExitCode {
    use settle_job::score::percent;
    let score = match settle_job::score::score(&args.run_dir, &args.truth) {
        Ok(score) => score,
        Err(err) => return fail(&err.to_string(), None),
    };
    let mut out = String::new();
    match args.format {
        ScoreFormat::Json => {
            let mut value = serde_json::to_value(&score).expect("plain data");
            value["perfect"] = serde_json::Value::Bool(score.is_perfect());
            let _ = writeln!(out, "{}", serde_json::to_string_pretty(&value).expect("plain data"));
        }
        ScoreFormat::Text => {
            let _ = writeln!(out, "stage  matches run  matches truth      correct  precision     recall");
            for s in &score.stages {
                let _ = writeln!(
                    out,
                    "{:<5} {:>12} {:>14} {:>12} {:>9} % {:>8} %",
                    s.stage,
                    s.matches_run,
                    s.matches_truth,
                    s.matches_correct,
                    percent(s.precision_bp()),
                    percent(s.recall_bp())
                );
            }
            let _ = writeln!(
                out,
                "records  {} in truth, {} placed as expected ({} %)",
                score.records_truth,
                score.records_agreeing,
                percent(score.records_agreeing_bp())
            );
            let _ = writeln!(out, "outcomes (stage, expected → placed, records; - = absent):");
            for c in &score.confusion {
                let mark = if c.expected == c.placed { " " } else { "✗" };
                let _ = writeln!(out, "{mark} {:<5} {:<32} → {:<32} {:>10}", c.stage, c.expected, c.placed, c.records);
            }
            if !score.pairs_checked {
                let _ = writeln!(out, "note: truth has no expected_with column: matches checked record by record only");
            }
        }
    }
    print_data(&out);
    if score.is_perfect() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn replay(args: ReplayArgs) -> ExitCode {
    let report = match settle_job::replay::replay(&args.run_dir, args.keep.as_deref()) {
        Ok(report) => report,
        Err(err) => return fail(&err.to_string(), err.hint()),
    };
    let mut out = String::new();
    let _ = writeln!(out, "run            {} {}", report.job, report.business_date);
    let _ = writeln!(out, "recorded by    settle {}", report.recorded_version);
    let _ = writeln!(out, "replayed by    settle {}", report.version);
    for drift in &report.drift {
        let line = match drift {
            settle_job::replay::Drift::Changed { path, recorded, recomputed } => {
                format!("drift          {path}: recorded sha256 {recorded}, recomputed {recomputed}")
            }
            settle_job::replay::Drift::Missing { path } => format!("drift          {path}: not recomputed"),
            settle_job::replay::Drift::Extra { path } => format!("drift          {path}: recomputed, not recorded"),
            settle_job::replay::Drift::OnDisk { path, recorded, found: Some(found) } => {
                format!("changed        {path}: in the run directory sha256 {found}, recorded {recorded}")
            }
            settle_job::replay::Drift::OnDisk { path, .. } => {
                format!("changed        {path}: missing from the run directory")
            }
        };
        let _ = writeln!(out, "{line}");
    }
    let differing: std::collections::BTreeSet<&str> = report
        .drift
        .iter()
        .filter_map(|d| match d {
            settle_job::replay::Drift::Extra { .. } => None,
            settle_job::replay::Drift::Changed { path, .. }
            | settle_job::replay::Drift::Missing { path }
            | settle_job::replay::Drift::OnDisk { path, .. } => Some(path.as_str()),
        })
        .collect();
    let identical = report.outputs - differing.len();
    let _ = writeln!(out, "outputs        {identical} of {} identical", report.outputs);
    print_data(&out);
    if report.drift.is_empty() {
        ExitCode::SUCCESS
    } else {
        let hint = (report.recorded_version != report.version).then(|| {
            format!("the run was recorded by settle {}; replay it with that version", report.recorded_version)
        });
        log::error("the replay differs from the recorded run", hint.as_deref());
        ExitCode::from(1)
    }
}

fn run(args: RunArgs) -> ExitCode {
    let options = settle_job::RunOptions {
        date: args.date,
        out: args.out,
        force: args.force,
        after_ingest: Some(alloc::release_freed_memory),
        replay: None,
        sign_key: args.sign_key,
        partition: args.partition,
        and_later: args.and_later,
    };
    let outcome = match settle_job::run_job(&args.job, &options) {
        Ok(outcome) => outcome,
        Err(err) => return run_failed(&err),
    };
    if args.and_later && args.partition.is_none() {
        return run_and_later(&args.job, &options, &outcome);
    }
    if let Some(part) = args.partition {
        let s = &outcome.summary;
        let mut out = String::new();
        let _ = writeln!(out, "partition      {} of {}", part.index, part.count);
        let _ = writeln!(out, "directory      {}", outcome.run_dir.display());
        let _ = writeln!(
            out,
            "shard          {} orders, {} channel transactions, {} payouts",
            s["orders"], s["channel_transactions"], s["payouts"]
        );
        print_data(&out);
        log::status("partition written: run `settle merge` once every partition is");
        return ExitCode::SUCCESS;
    }
    report_run(&outcome)
}

/// A run that did not complete a night, or found it complete already (a success that wrote nothing).
fn run_failed(err: &settle_job::JobError) -> ExitCode {
    if let settle_job::JobError::AlreadyComplete { exit_code, .. } = err {
        log::note(&err.to_string());
        return ExitCode::from(*exit_code);
    }
    fail(&err.to_string(), err.hint())
}

/// `settle run --and-later`: the job's later nights recomputed after `first`, in date order; the exit
/// code is the worst of them.
fn run_and_later(job: &std::path::Path, options: &settle_job::RunOptions, first: &settle_job::RunOutcome) -> ExitCode {
    let mut worst = report_code(first);
    let job_dir = first.run_dir.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    let later = match settle_job::nights::later(&job_dir, first.business_date) {
        Ok(later) => later,
        Err(err) => return run_failed(&err),
    };
    for night in later {
        log::note(&format!("recomputing the later night of {} (--and-later)", night.date));
        let options = settle_job::RunOptions { date: Some(night.date), force: true, ..options.clone() };
        match settle_job::run_job(job, &options) {
            Ok(outcome) => worst = worst.max(report_code(&outcome)),
            Err(err) => {
                let _ = run_failed(&err);
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::from(worst)
}

fn report_code(outcome: &settle_job::RunOutcome) -> u8 {
    if report_run(outcome) == ExitCode::SUCCESS { 0 } else { 1 }
}

fn merge(args: MergeArgs) -> ExitCode {
    let options = settle_job::MergeOptions {
        date: args.date,
        out: args.out,
        force: args.force,
        partitions: args.partitions,
        sign_key: args.sign_key,
        and_later: args.and_later,
    };
    match settle_job::merge_job(&args.job, &options) {
        Ok(outcome) => report_run(&outcome),
        Err(err) => run_failed(&err),
    }
}

/// Input notes as warnings, at most `NOTES_PER_CHECK_MAX` of one check in one file (`FILE:LINE: CHECK:
/// …`): a report re-sent whole would otherwise print a line per row. The rest are counted in one line;
/// every row is in exceptions.csv whatever stderr shows.
fn warn_capped(notes: &[String]) {
    const NOTES_PER_CHECK_MAX: usize = 20;
    let key = |note: &str| -> Option<(String, String)> {
        let (place, rest) = note.split_once(": ")?;
        let (file, line) = place.rsplit_once(':')?;
        line.parse::<u64>().ok()?;
        let check = rest.split_once(": ")?.0;
        (!check.contains(' ')).then(|| (file.to_string(), check.to_string()))
    };
    let mut shown: std::collections::BTreeMap<(String, String), usize> = std::collections::BTreeMap::new();
    for note in notes {
        match key(note) {
            None => log::warning(note),
            Some(k) => {
                let n = shown.entry(k).or_default();
                *n += 1;
                if *n <= NOTES_PER_CHECK_MAX {
                    log::warning(note);
                }
            }
        }
    }
    for ((file, check), n) in shown.into_iter().filter(|(_, n)| *n > NOTES_PER_CHECK_MAX) {
        log::warning(&format!(
            "{file}: {} more {check} warnings not shown ({n} in all; each row is in exceptions.csv)",
            n - NOTES_PER_CHECK_MAX
        ));
    }
}

/// What `settle run` and `settle merge` print of a completed run, and their exit code.
fn report_run(outcome: &settle_job::RunOutcome) -> ExitCode {
    if outcome.completed_interrupted {
        log::note(&format!(
            "{} had no manifest (an interrupted run): it has been recomputed",
            outcome.run_dir.display()
        ));
    }
    if outcome.replaced {
        log::note(&format!("recomputed the existing run for {} (--force)", outcome.business_date));
    }
    warn_capped(&outcome.input_notes);
    for note in &outcome.payout_notes {
        log::note(note);
    }
    let s = &outcome.summary;
    let mut out = String::new();
    let _ = writeln!(out, "run directory  {}", outcome.run_dir.display());
    let _ = writeln!(out, "business date  {}", outcome.business_date);
    for stage in ["A", "B", "C"] {
        let counts = &s["records_by_status"][stage];
        // Stage C appears once payouts of earlier nights await their debits.
        if stage == "C" && counts.is_null() {
            continue;
        }
        let _ = writeln!(
            out,
            "stage {stage}        {} matched, {} open, {} exception, {} rejected records; {} matches",
            counts["matched"],
            counts["open"],
            counts["exception"],
            counts["rejected"],
            s["matches"][stage].as_u64().unwrap_or(0)
        );
    }
    if let Some(reasons) = s["exceptions_by_reason"].as_object() {
        for (reason, detail) in reasons {
            let _ = writeln!(
                out,
                "  {reason:<30} {} ({}, {})",
                detail["count"],
                detail["status"].as_str().unwrap_or(""),
                detail["severity"].as_str().unwrap_or("")
            );
        }
    }
    let payouts = &s["payouts"];
    let totals: Vec<String> = payouts["payable_totals"]
        .as_object()
        .map(|m| m.iter().map(|(c, a)| format!("{} {c}", a.as_str().unwrap_or(""))).collect())
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "payouts        {} ({}); payable {}",
        payouts["count"],
        summary_counts(&payouts["by_status"]),
        totals.join(", ")
    );
    for (file, already_emitted) in &outcome.payout_files {
        let what = if *already_emitted {
            "already emitted by an earlier run of this date: rebuilt byte for byte, no new payment"
        } else {
            "new"
        };
        let _ = writeln!(out, "payout file    {file} ({what})");
    }
    print_data(&out);
    if outcome.all_settled {
        ExitCode::SUCCESS
    } else {
        log::status("completed with exceptions or open items: see exceptions.csv in the run directory");
        ExitCode::from(1)
    }
}

/// Writes data to stdout; a closed pipe (`settle run … | head`) is not an error worth a panic.
fn print_data(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}

fn check(args: CheckArgs) -> ExitCode {
    let names: Vec<(String, &std::path::Path)> =
        args.files.iter().map(|p| (p.display().to_string(), p.as_path())).collect();
    let files = settle_job::bankfiles::check_files(&names, args.encoding);
    let mut out = String::new();
    let (mut unreadable, mut failed) = (0usize, 0usize);
    if !args.json {
        let _ = writeln!(
            out,
            "{:<40} {:<16} {:<24} {:<4} {:>14} {:>14} {:>7} {:>14} {:>14} {:<8} problems",
            "file", "format", "account", "ccy", "opening", "closing", "entries", "credits", "debits", "balance"
        );
    }
    for file in &files {
        for r in &file.records {
            let failed_here = r.balance_ok == Some(false) || !r.problems.is_empty() || r.duplicate_of.is_some();
            failed += usize::from(failed_here);
            if args.json {
                let _ = writeln!(out, "{}", serde_json::to_string(r).expect("records serialize"));
            } else {
                let mut problems = r.problems.clone();
                if let Some(first) = &r.duplicate_of {
                    problems.insert(0, format!("duplicate of {first} (counted once)"));
                }
                let _ = writeln!(
                    out,
                    "{:<40} {:<16} {:<24} {:<4} {:>14} {:>14} {:>7} {:>14} {:>14} {:<8} {}",
                    r.file,
                    r.format,
                    r.account.as_deref().unwrap_or("-"),
                    r.currency.as_deref().unwrap_or("-"),
                    r.opening.as_deref().unwrap_or("-"),
                    r.closing.as_deref().unwrap_or("-"),
                    r.entries,
                    r.sum_credits,
                    r.sum_debits,
                    match r.balance_ok {
                        Some(true) => "ok",
                        Some(false) => "BREAK",
                        None => "n/a",
                    },
                    problems.join("; ")
                );
            }
            for w in &r.warnings {
                log::warning(&format!("{}: {w}", r.file));
            }
        }
        if let Some(error) = &file.error {
            unreadable += 1;
            log::error(&error.to_string(), None);
        }
    }
    print_data(&out);
    if unreadable > 0 {
        ExitCode::from(2)
    } else if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn ingest(args: IngestArgs) -> ExitCode {
    let extension = args.out.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if !matches!(extension.as_str(), "csv" | "jsonl" | "ndjson") {
        let hint = (extension == "parquet").then(|| {
            "Parquet output comes with settle-report's Parquet tables; write .csv or .jsonl for now".to_string()
        });
        return fail(&format!("--out {}: expected a .csv or .jsonl file", args.out.display()), hint);
    }
    let names: Vec<(String, &std::path::Path)> =
        args.files.iter().map(|p| (p.display().to_string(), p.as_path())).collect();
    if args.profile.is_none() {
        let is_status_report = |path: &std::path::Path| {
            head_of(path).is_ok_and(|h| String::from_utf8_lossy(&h).contains("CstmrPmtStsRpt"))
        };
        if !names.is_empty() && names.iter().all(|(_, p)| is_status_report(p)) {
            return ingest_status_reports(&args, &names, &extension);
        }
    }
    if let Some(result) = ingest_profiled(&args, &names, &extension) {
        return result;
    }
    let rows = match settle_job::bankfiles::read_bank_files(&names, args.flatten, args.encoding) {
        Ok(rows) => rows,
        Err(err) => return fail(&err.to_string(), None),
    };
    let bytes = if extension == "csv" {
        match settle_tabular::write_bank_entries(&rows) {
            Ok(bytes) => bytes,
            Err(err) => return fail(&format!("rendering {}: {err}", args.out.display()), None),
        }
    } else {
        let mut bytes = Vec::with_capacity(rows.len() * 512);
        json_lines(&mut bytes, &rows);
        bytes
    };
    if let Err(code) = write_output(&args.out, &bytes) {
        return code;
    }
    log::status(&format!("wrote {} bank entries from {} files to {}", rows.len(), names.len(), args.out.display()));
    ExitCode::SUCCESS
}

/// `settle ingest` of pain.002 status reports: one row per status (group, batch, transaction).
fn ingest_status_reports(args: &IngestArgs, names: &[(String, &std::path::Path)], extension: &str) -> ExitCode {
    const COLUMNS: [&str; 11] = [
        "level",
        "status",
        "reason_codes",
        "additional_info",
        "original_message_id",
        "original_payment_info_id",
        "original_instruction_id",
        "original_end_to_end_id",
        "report_id",
        "source_file",
        "xml_path",
    ];
    let mut rows: Vec<[String; 11]> = Vec::new();
    for (name, path) in names {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(err) => return fail(&format!("cannot read {name}: {err}"), None),
        };
        let statuses = match settle_iso20022::read_pain002(name, file, settle_iso20022::Limits::default()) {
            Ok(s) => s,
            Err(err) => return fail(&err.to_string(), None),
        };
        for s in statuses {
            rows.push([
                s.level.map(|l| l.as_str()).unwrap_or_default().to_string(),
                s.status,
                s.reason_codes.join(" "),
                s.additional_info,
                s.original_message_id,
                s.original_payment_info_id.unwrap_or_default(),
                s.original_instruction_id.unwrap_or_default(),
                s.original_end_to_end_id.unwrap_or_default(),
                s.report_id,
                name.clone(),
                s.xml_path,
            ]);
        }
    }
    let bytes = if extension == "csv" {
        let mut w = csv::Writer::from_writer(Vec::new());
        let written = w.write_record(COLUMNS).and_then(|()| rows.iter().try_for_each(|r| w.write_record(r)));
        match written.and_then(|()| w.into_inner().map_err(|e| e.into_error().into())) {
            Ok(bytes) => bytes,
            Err(err) => return fail(&format!("rendering {}: {err}", args.out.display()), None),
        }
    } else {
        let objects: Vec<serde_json::Map<String, serde_json::Value>> = rows
            .iter()
            .map(|r| COLUMNS.iter().zip(r).map(|(k, v)| (k.to_string(), serde_json::Value::from(v.as_str()))).collect())
            .collect();
        let mut bytes = Vec::new();
        json_lines(&mut bytes, &objects);
        bytes
    };
    if let Err(code) = write_output(&args.out, &bytes) {
        return code;
    }
    let rejected = rows.iter().filter(|r| r[1] == "RJCT").count();
    log::status(&format!(
        "wrote {} payment statuses ({rejected} rejected) from {} status reports to {}",
        rows.len(),
        names.len(),
        args.out.display()
    ));
    ExitCode::SUCCESS
}

/// Appends one JSON object per row and line (amounts as decimal strings).
fn json_lines<T: serde::Serialize>(out: &mut Vec<u8>, rows: &[T]) {
    for row in rows {
        serde_json::to_writer(&mut *out, row).expect("canonical rows serialize");
        out.push(b'\n');
    }
}

/// Writes an output file atomically; on failure, reports it and gives the exit code.
fn write_output(path: &std::path::Path, bytes: &[u8]) -> Result<(), ExitCode> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    settle_job::write_atomic(dir, &name, bytes)
        .map_err(|err| fail(&format!("cannot write {}: {err}", path.display()), None))
}

/// The first bytes of a file, enough to tell its kind.
fn head_of(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut head = Vec::with_capacity(4096);
    settle_job::fault::open(path)?.take(4096).read_to_end(&mut head)?;
    Ok(head)
}

fn profiles(args: ProfilesArgs) -> ExitCode {
    match args.command {
        None => {
            let mut out = String::new();
            for p in settle_tabular::builtin_profiles() {
                let _ = writeln!(out, "{:<28} {:<20} {}", p.name, p.record.as_str(), p.description);
            }
            print_data(&out);
            ExitCode::SUCCESS
        }
        Some(ProfilesCommand::Show { name }) => match settle_tabular::Profile::builtin_text(&name) {
            Some(text) => {
                print_data(text);
                ExitCode::SUCCESS
            }
            None => fail(&format!("no built-in profile {name:?}"), Some("`settle profiles` lists them".into())),
        },
    }
}

/// `settle ingest` of CSV files through profiles: with --profile, or when no file is a bank statement
/// (XML, MT940, canonical bank CSV). `None` leaves the files to the bank reader.
fn ingest_profiled(args: &IngestArgs, names: &[(String, &std::path::Path)], extension: &str) -> Option<ExitCode> {
    use settle_tabular::RecordKind;
    let chosen = match args.profile.as_deref() {
        Some(name) => match settle_job::profiles::resolve(std::path::Path::new("."), "--profile", name) {
            Ok(p) => p,
            Err(err) => {
                return Some(fail(&err.to_string(), Some("`settle profiles` lists the built-in profiles".into())));
            }
        },
        None => None,
    };
    if args.profile.is_none() {
        // Bank statements keep their own readers: their heads say so before any file is read whole.
        for (name, path) in names {
            let head = match head_of(path) {
                Ok(head) => head,
                Err(err) => return Some(fail(&format!("cannot read {name}: {err}"), None)),
            };
            match settle_job::bankfiles::sniff_kind(&head) {
                settle_job::bankfiles::BankFileKind::Csv if !settle_tabular::looks_like_canonical_bank_csv(&head) => {}
                _ => return None,
            }
        }
    }
    // Files in parallel, each large one in chunks too; rows in the order of the files.
    let expected = chosen.as_ref().map_or(RecordKind::ChannelTransactions, |p| p.record);
    let reads = match settle_job::profiles::read_files(names, chosen.as_ref(), expected) {
        Ok(all) => all,
        Err(err) => return Some(fail(&err.to_string(), None)),
    };
    let mut failed = 0usize;
    for (read, (name, _)) in reads.iter().zip(names) {
        for p in &read.problems {
            failed += 1;
            log::status(&format!("check failed: {name}:{}: {}: {}", p.line, p.check, p.message));
        }
        for w in &read.warnings {
            log::warning(w);
        }
    }
    let profiles: Vec<String> = reads.iter().map(|r| r.profile.clone()).collect();
    let (mut channel, mut bank, mut orders, mut beneficiaries) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for read in reads {
        channel.extend(read.channel_transactions);
        bank.extend(read.bank_entries);
        orders.extend(read.orders);
        beneficiaries.extend(read.beneficiaries);
    }
    let bytes = if extension == "csv" {
        let rendered = match expected {
            RecordKind::ChannelTransactions => settle_tabular::write_channel_transactions(&channel),
            RecordKind::BankEntries => settle_tabular::write_bank_entries(&bank),
            RecordKind::Orders => settle_tabular::write_orders(&orders),
            RecordKind::Beneficiaries => settle_tabular::write_beneficiaries(&beneficiaries),
        };
        match rendered {
            Ok(bytes) => bytes,
            Err(err) => return Some(fail(&format!("rendering {}: {err}", args.out.display()), None)),
        }
    } else {
        let mut bytes = Vec::new();
        json_lines(&mut bytes, &channel);
        json_lines(&mut bytes, &bank);
        json_lines(&mut bytes, &orders);
        json_lines(&mut bytes, &beneficiaries);
        bytes
    };
    if let Err(code) = write_output(&args.out, &bytes) {
        return Some(code);
    }
    let (count, what) = match expected {
        RecordKind::ChannelTransactions => (channel.len(), "channel transactions"),
        RecordKind::BankEntries => (bank.len(), "bank entries"),
        RecordKind::Orders => (orders.len(), "orders"),
        RecordKind::Beneficiaries => (beneficiaries.len(), "beneficiaries"),
    };
    log::status(&format!(
        "wrote {count} {what} from {} files (profiles: {}) to {}",
        names.len(),
        profiles.join(", "),
        args.out.display()
    ));
    Some(if failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn summary_counts(value: &serde_json::Value) -> String {
    value
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

fn generate(args: GenArgs) -> ExitCode {
    if args.orders == 0 && args.camt_entries.is_none() && args.mt940_entries.is_none() {
        return fail(
            "nothing to generate",
            Some(
                "pass --orders N (a day), --camt-entries N (a large camt.053) or --mt940-entries N (a large MT940)"
                    .into(),
            ),
        );
    }
    if let Some(entries) = args.mt940_entries {
        if let Err(err) = std::fs::create_dir_all(&args.out) {
            return fail(&format!("cannot create {}: {err}", args.out.display()), None);
        }
        let path = args.out.join("statement_large.sta");
        match settle_gen::write_large_mt940(&path, entries, args.seed, args.date) {
            Ok(bytes) => print_data(&format!("{}  {entries} entries, {bytes} bytes\n", path.display())),
            Err(err) => return fail(&err.to_string(), None),
        }
        if args.orders == 0 && args.camt_entries.is_none() {
            return ExitCode::SUCCESS;
        }
    }
    if let Some(entries) = args.camt_entries {
        if let Err(err) = std::fs::create_dir_all(&args.out) {
            return fail(&format!("cannot create {}: {err}", args.out.display()), None);
        }
        let path = args.out.join("statement_large.xml");
        match settle_gen::write_large_camt053(&path, entries, args.seed, args.date) {
            Ok(bytes) => print_data(&format!("{}  {entries} entries, {bytes} bytes\n", path.display())),
            Err(err) => return fail(&err.to_string(), None),
        }
        if args.orders == 0 {
            return ExitCode::SUCCESS;
        }
    }
    let base = args.exception_rate;
    let options = settle_gen::GenOptions {
        orders: args.orders,
        seed: args.seed,
        business_date: args.date,
        beneficiaries: args.beneficiaries,
        rates: settle_gen::InjectionRates {
            no_channel_transaction: args.rate_no_channel_transaction.unwrap_or(base),
            no_order: args.rate_no_order.unwrap_or(base),
            amount_mismatch: args.rate_amount_mismatch.unwrap_or(base),
            duplicate: args.rate_duplicate.unwrap_or(base),
            chargeback: args.rate_chargeback.unwrap_or(base),
        },
        short_credits: args.short_credits,
        stray_credits: args.stray_credits,
        merchant_accounts: args.merchant_accounts,
        night: args.night,
        job_name: args.job_name,
    };
    match settle_gen::generate(&args.out, &options) {
        Ok(report) => {
            let mut out = String::new();
            for (file, rows) in &report.files {
                let _ = writeln!(out, "{}  {rows} rows", args.out.join(file).display());
            }
            let _ = writeln!(out, "{}", args.out.join("job.toml").display());
            print_data(&out);
            for (kind, count) in &report.injected {
                log::status(&format!("injected {kind}: {count}"));
            }
            ExitCode::SUCCESS
        }
        Err(err) => fail(&err.to_string(), None),
    }
}
