//! Fetching reference rates over HTTP(S) into a local store of snapshots.
//!
//! A `RateProvider` says where its rates are and how to read them; `fetch_into_store` downloads with
//! connect and whole-request timeouts, bounded retries with exponential backoff (on timeouts, connection
//! failures and 5xx; never on 4xx), a conditional request (`If-None-Match` / `If-Modified-Since` from the
//! last snapshot: a 304 keeps it), checks that the body is a complete file of the provider's layout before
//! keeping it, and stores it under its sha256 with an index (`index.json`) of snapshots. rustls on ring
//! (no OpenSSL); certificates from the platform's store.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
#[cfg(feature = "fetch")]
use sha2::{Digest, Sha256};

use crate::ecb::{RateFile, read_ecb};

/// Where a provider's rates are and how its files read.
pub trait RateProvider {
    /// A short name, also the store's sub-directory (`ecb`).
    fn name(&self) -> &str;
    /// The URL to fetch (a feed covering `since` when given).
    fn url(&self, since: Option<settle_core::Date>) -> String;
    /// Reads a fetched body; an error means the body is not a complete file of the expected layout.
    fn read(&self, name: &str, body: &[u8]) -> Result<RateFile, String>;
}

/// The ECB's XML feeds: the 90-day feed when `since` is within the last 90 days, else the full history.
#[derive(Debug, Clone)]
pub struct Ecb {
    /// The feeds' directory, `https://www.ecb.europa.eu/stats/eurofxref/` (configurable for mirrors and
    /// tests).
    pub base_url: String,
    /// Today, for choosing the feed (the caller's clock; never written into run outputs).
    pub today: settle_core::Date,
}

impl RateProvider for Ecb {
    fn name(&self) -> &str {
        "ecb"
    }

    fn url(&self, since: Option<settle_core::Date>) -> String {
        let recent =
            since.is_some_and(|s| self.today.checked_sub(jiff::Span::new().days(85)).is_ok_and(|limit| s >= limit));
        let file = if recent { "eurofxref-hist-90d.xml" } else { "eurofxref-hist.xml" };
        format!("{}/{file}", self.base_url.trim_end_matches('/'))
    }

    fn read(&self, name: &str, body: &[u8]) -> Result<RateFile, String> {
        read_ecb(name, body).map_err(|e| e.to_string())
    }
}

/// How patient to be.
#[derive(Debug, Clone, Copy)]
pub struct FetchPolicy {
    pub connect_timeout: Duration,
    /// The whole request, body included.
    pub timeout: Duration,
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// The wait before the second attempt; doubled for each further one.
    pub backoff: Duration,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            attempts: 4,
            backoff: Duration::from_millis(500),
        }
    }
}

/// One stored snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// File name in the provider's store directory: `<sha256>.xml`.
    pub file: String,
    pub sha256: String,
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub bytes: u64,
    /// Days and the newest day the snapshot holds.
    pub days: u64,
    pub newest: Option<String>,
}

/// What a fetch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// A new snapshot was stored.
    Stored(Snapshot),
    /// The server said the last snapshot is current (304), or sent the same bytes again.
    Unchanged(Snapshot),
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("GET {url}: HTTP {status}{}", if *.retried { " (after retries)" } else { "" })]
    Status { url: String, status: u16, retried: bool },
    #[error("GET {url}: {message} (after {attempts} attempts)")]
    Transport { url: String, message: String, attempts: u32 },
    #[error("GET {url}: the body is not a complete rates file: {message}")]
    Layout { url: String, message: String },
    #[error("rates store {path}: {message}")]
    Store { path: String, message: String },
    #[error("TLS: {0}")]
    Tls(String),
}

fn store_error(path: &Path, message: impl ToString) -> FetchError {
    FetchError::Store { path: path.display().to_string(), message: message.to_string() }
}

/// The provider's snapshots, oldest first (`index.json` in its store directory).
pub fn snapshots(store: &Path, provider: &str) -> Result<Vec<Snapshot>, FetchError> {
    let index = store.join(provider).join("index.json");
    match std::fs::read(&index) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| store_error(&index, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(store_error(&index, e)),
    }
}

/// The path of a stored snapshot.
pub fn snapshot_path(store: &Path, provider: &str, snapshot: &Snapshot) -> PathBuf {
    store.join(provider).join(&snapshot.file)
}

#[cfg(feature = "fetch")]
fn install_crypto_provider() {
    // Once per process; a second install reports the first, which is the same provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(feature = "fetch")]
/// Fetches the provider's rates into `store` (see the module docs).
pub fn fetch_into_store(
    provider: &dyn RateProvider,
    since: Option<settle_core::Date>,
    store: &Path,
    policy: FetchPolicy,
) -> Result<Fetched, FetchError> {
    install_crypto_provider();
    let url = provider.url(since);
    let history = snapshots(store, provider.name())?;
    let last = history.last().filter(|s| s.url == url).cloned();
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(policy.connect_timeout)
        .timeout(policy.timeout)
        .user_agent(concat!("settle/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| FetchError::Tls(e.to_string()))?;
    let attempts = policy.attempts.max(1);
    let mut failure = String::new();
    for attempt in 0..attempts {
        if attempt > 0 {
            std::thread::sleep(policy.backoff * 2u32.saturating_pow(attempt - 1));
        }
        let mut request = client.get(&url);
        if let Some(last) = &last {
            if let Some(etag) = &last.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(modified) = &last.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, modified);
            }
        }
        let response = match request.send() {
            Ok(r) => r,
            Err(e) => {
                failure = transport_message(&e);
                continue;
            }
        };
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED
            && let Some(last) = last
        {
            return Ok(Fetched::Unchanged(last));
        }
        if status.is_server_error() {
            failure = format!("HTTP {}", status.as_u16());
            if attempt + 1 == attempts {
                return Err(FetchError::Status { url, status: status.as_u16(), retried: attempts > 1 });
            }
            continue;
        }
        if !status.is_success() {
            return Err(FetchError::Status { url, status: status.as_u16(), retried: false });
        }
        let header = |name: reqwest::header::HeaderName| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
        };
        let (etag, last_modified) = (header(reqwest::header::ETAG), header(reqwest::header::LAST_MODIFIED));
        let body = match response.bytes() {
            Ok(b) => b,
            Err(e) => {
                // A body cut short (connection closed before Content-Length) is worth another try.
                failure = format!("reading the body: {}", transport_message(&e));
                continue;
            }
        };
        let file = provider.read(&url, &body).map_err(|message| FetchError::Layout { url: url.clone(), message })?;
        let snapshot = Snapshot::of(&url, &body, &file, etag, last_modified);
        return store_snapshot(store, provider.name(), snapshot, &body, history);
    }
    Err(FetchError::Transport { url, message: failure, attempts })
}

#[cfg(feature = "fetch")]
fn transport_message(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    if e.is_timeout() {
        message.push_str(" (timed out)");
    }
    message
}

#[cfg(feature = "fetch")]
impl Snapshot {
    /// The record of a fetched body that read as `file`.
    fn of(url: &str, body: &[u8], file: &RateFile, etag: Option<String>, last_modified: Option<String>) -> Snapshot {
        let sha256: String = Sha256::digest(body).iter().map(|b| format!("{b:02x}")).collect();
        let mut days: Vec<settle_core::Date> = file.rates.iter().map(|r| r.date).collect();
        days.sort();
        days.dedup();
        Snapshot {
            file: format!("{sha256}.xml"),
            sha256,
            url: url.to_string(),
            etag,
            last_modified,
            bytes: body.len() as u64,
            days: days.len() as u64,
            newest: days.last().map(ToString::to_string),
        }
    }
}

#[cfg(feature = "fetch")]
/// Keeps `body` as `snapshot` unless the last snapshot has the same bytes.
fn store_snapshot(
    store: &Path,
    provider: &str,
    snapshot: Snapshot,
    body: &[u8],
    mut history: Vec<Snapshot>,
) -> Result<Fetched, FetchError> {
    if history.last().is_some_and(|s| s.sha256 == snapshot.sha256) {
        return Ok(Fetched::Unchanged(snapshot));
    }
    let dir = store.join(provider);
    std::fs::create_dir_all(&dir).map_err(|e| store_error(&dir, e))?;
    write_atomically(&dir.join(&snapshot.file), body)?;
    history.push(snapshot.clone());
    let index = serde_json::to_vec_pretty(&history).map_err(|e| store_error(&dir, e))?;
    write_atomically(&dir.join("index.json"), &index)?;
    Ok(Fetched::Stored(snapshot))
}

/// Temp file in the same directory, fsync, rename, fsync the directory (as settle-job's `write_atomic`,
/// which this crate sits below and cannot call).
#[cfg(feature = "fetch")]
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FetchError> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| store_error(dir, e))?;
    tmp.write_all(bytes).map_err(|e| store_error(path, e))?;
    tmp.as_file().sync_all().map_err(|e| store_error(path, e))?;
    tmp.persist(path).map_err(|e| store_error(path, e.error))?;
    #[cfg(unix)]
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| store_error(dir, e))?;
    Ok(())
}
