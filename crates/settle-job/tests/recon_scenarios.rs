//! Table-driven reconciliation scenarios (in the spirit of sqllogictest): one text file per scenario in
//! `tests/recon/`, with small inputs in the canonical CSV layouts, the rules, and the expected matches
//! and exceptions. Run: `cargo test -p settle-job --test recon_scenarios`; rewrite the `== expect`
//! sections from what the engine gives with `SETTLE_REWRITE_SCENARIOS=1` (then review the diff).
//!
//! A scenario file:
//! ```text
//! # what it shows (lines starting with `#` before the first section)
//! == rules            (optional: a job spec's [recon] table, without the header)
//! [[stage_b]]
//! id = "B1"
//! == orders           (optional: orders CSV, canonical layout)
//! == channel          (optional: channel transactions CSV, canonical layout)
//! == bank             (optional: bank entries CSV, canonical layout)
//! == expect           (one line per match, then per exception, in output order)
//! ```
//! The engine asserts conservation (every record in exactly one place per stage) on every run; the runner
//! also checks that reversing every input gives the same lines, unless the preamble has a line starting
//! `# order matters` (which of two duplicate rows is admitted depends on file order).

use std::path::{Path, PathBuf};

use settle_core::Calendar;
use settle_recon::{ReconResult, ReconRules, reconcile_with};

const SECTIONS: [&str; 5] = ["rules", "orders", "channel", "bank", "expect"];

struct Scenario {
    path: PathBuf,
    preamble: String,
    sections: Vec<(String, String)>,
}

impl Scenario {
    fn read(path: &Path) -> Scenario {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut preamble = String::new();
        let mut sections: Vec<(String, String)> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if let Some(name) = line.strip_prefix("== ") {
                let name = name.trim().to_string();
                assert!(
                    SECTIONS.contains(&name.as_str()),
                    "{}:{}: unknown section {name:?}: expected one of {SECTIONS:?}",
                    path.display(),
                    n + 1
                );
                sections.push((name, String::new()));
            } else if let Some((_, body)) = sections.last_mut() {
                body.push_str(line);
                body.push('\n');
            } else {
                preamble.push_str(line);
                preamble.push('\n');
            }
        }
        Scenario { path: path.to_path_buf(), preamble, sections }
    }

    fn section(&self, name: &str) -> Option<&str> {
        self.sections.iter().find(|(n, _)| n == name).map(|(_, body)| body.as_str())
    }

    /// The scenario with `expect` replaced.
    fn rewritten(&self, expect: &str) -> String {
        let mut out = self.preamble.clone();
        let mut wrote_expect = false;
        for (name, body) in &self.sections {
            out.push_str(&format!("== {name}\n"));
            if name == "expect" {
                out.push_str(expect);
                wrote_expect = true;
            } else {
                out.push_str(body);
            }
        }
        if !wrote_expect {
            out.push_str("== expect\n");
            out.push_str(expect);
        }
        out
    }
}

/// The lines a result is compared by: matches, then exceptions, in output order.
fn lines(result: &ReconResult) -> String {
    let mut out = String::new();
    for m in &result.matches {
        let difference = m
            .difference()
            .map(|d| {
                let e = &m.explained;
                let parts = if e.bank_charges.is_zero() {
                    String::new()
                } else {
                    format!(" (bank charges {}, unexplained {})", e.bank_charges, e.unexplained)
                };
                format!(" diff {d}{parts}")
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "match {} {:?}: {} {} = {} {}{difference}\n",
            m.stage.as_str(),
            m.rule,
            m.left.id,
            m.left.amount,
            m.right.id,
            m.right.amount
        ));
    }
    for e in &result.exceptions {
        let side =
            |s: &Option<settle_recon::Side>| s.as_ref().map_or("-".to_string(), |s| format!("{} {}", s.id, s.amount));
        out.push_str(&format!(
            "exception {} {} {}: {} | {} | {}\n",
            e.stage.as_str(),
            e.reason.as_str(),
            e.reason.severity().as_str(),
            side(&e.left),
            side(&e.right),
            e.detail
        ));
    }
    out
}

fn run(scenario: &Scenario, reverse: bool) -> Result<String, String> {
    // Records' sources name the scenario and the line within its section (as a file of its own).
    let file = scenario.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let name = |section: &str| format!("{file}#{section}");
    let csv = |section: &str| scenario.section(section).unwrap_or("").trim_start().as_bytes().to_vec();
    let orders = match scenario.section("orders") {
        Some(_) => settle_tabular::read_orders(&name("orders"), &csv("orders")).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    let channel = match scenario.section("channel") {
        Some(_) => {
            settle_tabular::read_channel_transactions(&name("channel"), &csv("channel")).map_err(|e| e.to_string())?
        }
        None => Vec::new(),
    };
    let bank = match scenario.section("bank") {
        Some(_) => settle_tabular::read_bank_entries(&name("bank"), &csv("bank")).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    let rules: ReconRules = match scenario.section("rules") {
        Some(text) => toml::from_str(text).map_err(|e| format!("{file}: rules: {e}"))?,
        None => ReconRules::default(),
    };
    let (mut orders, mut channel, mut bank) = (orders, channel, bank);
    if reverse {
        orders.reverse();
        channel.reverse();
        bank.reverse();
    }
    let result = reconcile_with(&orders, &channel, &bank, &rules, &Calendar::target2()).map_err(|e| e.to_string())?;
    Ok(lines(&result))
}

fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recon");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "scn"))
        .collect();
    files.sort();
    files
}

#[test]
fn scenarios() {
    let rewrite = std::env::var_os("SETTLE_REWRITE_SCENARIOS").is_some();
    let files = scenario_files();
    assert!(files.len() >= 15, "expected the scenario suite in tests/recon, found {} files", files.len());
    let mut failures: Vec<String> = Vec::new();
    for path in &files {
        let scenario = Scenario::read(path);
        let actual = match run(&scenario, false) {
            Ok(lines) => lines,
            Err(error) => format!("error: {error}\n"),
        };
        // Input order is no input: reversed rows give the same lines (except where a scenario says that
        // order decides, as it does for which of two duplicate rows is admitted).
        let order_matters = scenario.preamble.lines().any(|l| l.starts_with("# order matters"));
        if let (false, Ok(reversed)) = (order_matters, run(&scenario, true)) {
            if reversed != actual {
                failures.push(format!("{}: reversing the inputs changed the result:\n{reversed}", path.display()));
            }
        }
        let expected = scenario.section("expect").unwrap_or("");
        if actual != expected {
            if rewrite {
                std::fs::write(path, scenario.rewritten(&actual)).expect("rewrite scenario");
            } else {
                failures.push(format!("{}:\n--- expected\n{expected}--- actual\n{actual}", path.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed (SETTLE_REWRITE_SCENARIOS=1 rewrites expectations):\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
