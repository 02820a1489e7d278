//! What settle says on stderr (data goes to stdout): errors with their `hint:`, warnings, notes, and the
//! pipeline's phases, as `tracing` events.
//!
//! - `--log-format text` (default): `error: …` / `hint: …`, `warning: …`, `note: …` lines; phases only with
//!   `--verbose`; on a terminal, a spinner shows the current phase (never when stderr is a file or pipe).
//! - `--log-format json`: one JSON object per event (timestamp, level, fields), phases included, for
//!   schedulers' log collectors.
//! - `--quiet`: errors only.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::OnceLock;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// How stderr is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

static SPINNER: OnceLock<indicatif::ProgressBar> = OnceLock::new();

/// Sets up stderr for the process.
pub fn init(format: LogFormat, quiet: bool, verbose: bool) {
    let result = match format {
        LogFormat::Json => {
            let level = if quiet { Level::ERROR } else { Level::DEBUG };
            let layer = tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .with_writer(std::io::stderr)
                .with_filter(tracing_subscriber::filter::LevelFilter::from_level(level));
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
        }
        LogFormat::Text => {
            let level = if quiet {
                Level::ERROR
            } else if verbose {
                Level::DEBUG
            } else {
                Level::INFO
            };
            if !quiet && !verbose && std::io::stderr().is_terminal() {
                let spinner = indicatif::ProgressBar::new_spinner();
                spinner.enable_steady_tick(std::time::Duration::from_millis(120));
                let _ = SPINNER.set(spinner);
            }
            let layer = TextLayer { level };
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
        }
    };
    // Only fails when a subscriber is already set (never in this binary).
    let _ = result;
}

/// Clears the spinner before the command's result is printed.
pub fn finish() {
    if let Some(spinner) = SPINNER.get() {
        spinner.finish_and_clear();
    }
}

pub fn error(message: &str, hint: Option<&str>) {
    match hint {
        Some(hint) => tracing::error!(hint, "{message}"),
        None => tracing::error!("{message}"),
    }
}

pub fn warning(message: &str) {
    tracing::warn!("{message}");
}

pub fn note(message: &str) {
    tracing::info!("{message}");
}

/// A plain line (a summary of what a command did), at note level.
pub fn status(message: &str) {
    tracing::info!(status = true, "{message}");
}

/// `error: …`, `warning: …`, `note: …`, phases as `phase: …`; the `hint` field on a line of its own.
struct TextLayer {
    level: Level,
}

#[derive(Default)]
struct Fields {
    message: String,
    hint: Option<String>,
    status: bool,
    phase: Option<String>,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = value.to_string(),
            "hint" => self.hint = Some(value.to_string()),
            "phase" => self.phase = Some(value.to_string()),
            name => {
                let _ = write!(self.rest, " {name}={value}");
            }
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == "status" {
            self.status = value;
        } else {
            let _ = write!(self.rest, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            name => {
                let _ = write!(self.rest, " {name}={value:?}");
            }
        }
    }
}

impl<S: Subscriber> Layer<S> for TextLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        let mut fields = Fields::default();
        event.record(&mut fields);
        if level > self.level {
            // Below the shown level: a phase still moves the spinner on.
            if let (Some(spinner), Some(phase)) = (SPINNER.get(), &fields.phase) {
                spinner.set_message(format!("{phase}: {}", fields.message));
            }
            return;
        }
        let mut out = match level {
            Level::ERROR => format!("error: {}", fields.message),
            Level::WARN => format!("warning: {}", fields.message),
            Level::INFO if fields.status => fields.message.clone(),
            Level::INFO => format!("note: {}", fields.message),
            _ => match &fields.phase {
                Some(phase) => format!("{phase}: {}{}", fields.message, fields.rest),
                None => format!("debug: {}{}", fields.message, fields.rest),
            },
        };
        if let Some(hint) = &fields.hint {
            let _ = write!(out, "\nhint: {hint}");
        }
        match SPINNER.get() {
            Some(spinner) => spinner.suspend(|| eprintln!("{out}")),
            None => eprintln!("{out}"),
        }
    }
}
