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
//! == payouts          (optional: payouts issued on an earlier night, awaiting their debit, in the
//!                      `open_payouts.csv` layout)
//! == expect           (one line per match, then per exception, in output order)
//! ```
//! Several nights: `# nights: 2026-10-30 2026-11-02 …` (their business dates) in the preamble, and
//! sections `== orders 2`, `== channel 2`, `== bank 2`, `== expect 2` for night 2 (and so on). Each night
//! reads what the night before left open (`settle_job::carry`, as `settle run` does) before its own
//! inputs; `recon` rules (`write_off_after_business_days` among them) apply to every night.
//! The engine asserts conservation (every record in exactly one place per stage) on every run; the runner
//! also checks that reversing every input gives the same lines.

use std::path::{Path, PathBuf};

use settle_core::Calendar;
use settle_recon::{Inputs, ReconResult, ReconRules, reconcile_nights};

const SECTIONS: [&str; 6] = ["rules", "orders", "channel", "bank", "payouts", "expect"];

struct Scenario {
    path: PathBuf,
    preamble: String,
    /// (name, night, body); night 1 for sections without a number.
    sections: Vec<(String, usize, String)>,
}

impl Scenario {
    fn read(path: &Path) -> Scenario {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut preamble = String::new();
        let mut sections: Vec<(String, usize, String)> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if let Some(header) = line.strip_prefix("== ") {
                let mut words = header.split_whitespace();
                let name = words.next().unwrap_or("").to_string();
                let night = words.next().map_or(1, |w| {
                    w.parse().unwrap_or_else(|_| panic!("{}:{}: night {w:?}: expected a number", path.display(), n + 1))
                });
                assert!(
                    SECTIONS.contains(&name.as_str()) && (night == 1 || name != "rules"),
                    "{}:{}: unknown section {header:?}: expected one of {SECTIONS:?}, with a night number after all but rules",
                    path.display(),
                    n + 1
                );
                sections.push((name, night, String::new()));
            } else if let Some((_, _, body)) = sections.last_mut() {
                body.push_str(line);
                body.push('\n');
            } else {
                preamble.push_str(line);
                preamble.push('\n');
            }
        }
        Scenario { path: path.to_path_buf(), preamble, sections }
    }

    fn section(&self, name: &str, night: usize) -> Option<&str> {
        self.sections.iter().find(|(n, k, _)| n == name && *k == night).map(|(_, _, body)| body.as_str())
    }

    /// The business dates of `# nights:` (none for a one-night scenario).
    fn nights(&self) -> Vec<settle_core::Date> {
        self.preamble
            .lines()
            .find_map(|l| l.strip_prefix("# nights:"))
            .map(|dates| {
                dates.split_whitespace().map(|d| settle_core::parse_date(d).expect("a night's date")).collect()
            })
            .unwrap_or_default()
    }

    /// The scenario with every night's `expect` replaced (missing ones appended).
    fn rewritten(&self, expects: &[String]) -> String {
        let mut out = self.preamble.clone();
        let mut written = vec![false; expects.len()];
        for (name, night, body) in &self.sections {
            out.push_str(&if *night == 1 { format!("== {name}\n") } else { format!("== {name} {night}\n") });
            match (name.as_str(), expects.get(night - 1)) {
                ("expect", Some(expect)) => {
                    out.push_str(expect);
                    written[night - 1] = true;
                }
                _ => out.push_str(body),
            }
        }
        for (n, expect) in expects.iter().enumerate() {
            if !written[n] {
                out.push_str(&if n == 0 { "== expect\n".to_string() } else { format!("== expect {}\n", n + 1) });
                out.push_str(expect);
            }
        }
        out
    }
}

/// The lines a result is compared by: matches, then exceptions, in output order.
fn lines(result: &ReconResult, inputs: &Inputs<'_>) -> String {
    let mut out = String::new();
    for m in &result.views(inputs) {
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

/// Every night's lines (a night that fails to read or run ends the list with its error).
fn run(scenario: &Scenario, reverse: bool) -> Vec<String> {
    let nights = scenario.nights();
    let count = nights.len().max(1);
    let mut out = Vec::new();
    let mut carried = settle_job::carry::Carry::default();
    for night in 1..=count {
        match run_night(scenario, night, nights.get(night - 1).copied(), std::mem::take(&mut carried), reverse) {
            Ok((lines, next)) => {
                out.push(lines);
                carried = next;
            }
            Err(error) => {
                out.push(format!("error: {error}\n"));
                break;
            }
        }
    }
    out
}

fn run_night(
    scenario: &Scenario,
    night: usize,
    business_date: Option<settle_core::Date>,
    carried: settle_job::carry::Carry,
    reverse: bool,
) -> Result<(String, settle_job::carry::Carry), String> {
    // Records' sources name the scenario and the line within its section (as a file of its own).
    let file = scenario.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let name =
        |section: &str| if night == 1 { format!("{file}#{section}") } else { format!("{file}#{section} {night}") };
    let csv = |section: &str| scenario.section(section, night).unwrap_or("").trim_start().as_bytes().to_vec();
    let mut orders = match scenario.section("orders", night) {
        Some(_) => settle_tabular::read_orders(&name("orders"), &csv("orders")).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    let mut channel = match scenario.section("channel", night) {
        Some(_) => {
            settle_tabular::read_channel_transactions(&name("channel"), &csv("channel")).map_err(|e| e.to_string())?
        }
        None => Vec::new(),
    };
    let mut bank = match scenario.section("bank", night) {
        Some(_) => settle_tabular::read_bank_entries(&name("bank"), &csv("bank")).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    let rules: ReconRules = match scenario.section("rules", 1) {
        Some(text) => toml::from_str(text).map_err(|e| format!("{file}: rules: {e}"))?,
        None => ReconRules::default(),
    };
    if reverse {
        orders.reverse();
        channel.reverse();
        bank.reverse();
    }
    let mut prior = settle_job::carry::prepend(carried, &mut orders, &mut channel, &mut bank)?;
    if scenario.section("payouts", night).is_some() {
        prior.payouts.extend(settle_job::carry::read_payouts(&name("payouts"), &csv("payouts"))?);
    }
    let calendar = Calendar::target2();
    let result = reconcile_nights(&orders, &channel, &bank, &prior, &rules, &calendar).map_err(|e| e.to_string())?;
    let inputs = Inputs { orders: &orders, channel: &channel, bank: &bank, payouts: &prior.payouts };
    let lines = lines(&result, &inputs);
    let next = match business_date {
        Some(date) => settle_job::carry::carry(
            &orders,
            &channel,
            &bank,
            &result,
            &prior.payouts,
            date,
            &calendar,
            rules.write_off_after_business_days,
        )
        .to_carry(),
        None => settle_job::carry::Carry::default(),
    };
    let mut lines = lines;
    for row in &next.written_off {
        lines.push_str(&format!("written off {} {} {} {} (age {})\n", row[0], row[1], row[2], row[3], row[5]));
    }
    Ok((lines, next))
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
        let actual = run(&scenario, false);
        // Input order is no input: reversed rows give the same lines.
        let reversed = run(&scenario, true);
        if reversed != actual {
            failures.push(format!(
                "{}: reversing the inputs changed the result:\n{}",
                path.display(),
                reversed.concat()
            ));
        }
        let expected: Vec<String> =
            (1..=actual.len()).map(|night| scenario.section("expect", night).unwrap_or("").to_string()).collect();
        if actual != expected {
            if rewrite {
                std::fs::write(path, scenario.rewritten(&actual)).expect("rewrite scenario");
            } else {
                for (night, (want, got)) in expected.iter().zip(&actual).enumerate() {
                    if want != got {
                        failures.push(format!(
                            "{} night {}:\n--- expected\n{want}--- actual\n{got}",
                            path.display(),
                            night + 1
                        ));
                    }
                }
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
