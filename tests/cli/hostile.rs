//! Hostile inputs and tampering, round two (issue 24): rates, payers' text, payout files, replay paths
//! and the smaller traps. Each test is named after what it found; fixtures/hostile/README.md gives the
//! documented outcome of each case.

use super::*;

/// A scratch copy of the demo day (jobs/demo.toml and fixtures/demo/) to break one file of.
fn scratch() -> tempfile::TempDir {
    let dir = demo_layout();
    fs::copy(root().join("jobs/demo.toml"), dir.path().join("jobs/demo.toml")).unwrap();
    dir
}

/// Replaces `from` with `to` in a file of the scratch day (relative to it); `from` must be there.
fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from:?} is not in {file}");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// `settle run jobs/demo.toml --out OUT` in the scratch day.
fn run_in(dir: &Path, extra: &[&str]) -> Output {
    run_ok(settle().current_dir(dir).args(["run", "jobs/demo.toml", "--out", "out"]).args(extra))
}

fn text_of(output: &Output) -> String {
    format!("{}{}", stdout(output), stderr(output))
}

/// Found: an ECB rate of 10^12 (or `1e12`) went straight into a payable SEK transfer of 2.7 × 10^15, and
/// one of 10^-10 turned 2,800 EUR into a 0.00 SEK payout with nothing carried. Rates are now plain
/// digits, within a range, and within a band of the pair's previous rate.
#[test]
fn absurd_reference_rates_stop_the_night_naming_file_and_line() {
    for (bad, said) in [
        ("1000000000000", "EUR/SEK rate 1000000000000 on 2026-10-30 is outside 0.000001..10000000"),
        ("1e12", "column `SEK`: \"1e12\": expected a rate > 0 in plain digits"),
        ("0.0000000001", "EUR/SEK rate 0.0000000001 on 2026-10-30 is outside"),
        ("15.5323", "EUR/SEK rate 15.5323 on 2026-10-30 is 34.83% away from 11.5196 on 2026-10-29"),
    ] {
        let day = scratch();
        edit(day.path(), "fixtures/demo/eurofxref-hist.csv", "163.35,11.5323,", &format!("163.35,{bad},"));
        let output = run_in(day.path(), &[]);
        let text = text_of(&output);
        assert_eq!(output.status.code(), Some(2), "{bad}: {text}");
        assert!(text.contains("../fixtures/demo/eurofxref-hist.csv:2"), "{bad}: {text}");
        assert!(text.contains(said), "{bad}: {said:?} not in {text}");
        assert!(!day.path().join("out/demo/2026-10-31/payouts").exists(), "{bad}: no payout file");
    }
    // A real devaluation is let through by raising the band for the night.
    let day = scratch();
    edit(day.path(), "fixtures/demo/eurofxref-hist.csv", "163.35,11.5323,", "163.35,15.5323,");
    edit(
        day.path(),
        "jobs/demo.toml",
        "max_rate_age_days = 4",
        "max_rate_age_days = 4\nmax_rate_change_percent = \"40\"",
    );
    let output = run_in(day.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text_of(&output));
    // The band is a plain percentage too.
    edit(day.path(), "jobs/demo.toml", "max_rate_change_percent = \"40\"", "max_rate_change_percent = \"4e1\"");
    let output = run_in(day.path(), &["--force"]);
    assert_eq!(output.status.code(), Some(2), "{}", text_of(&output));
    assert!(text_of(&output).contains("key `fx.max_rate_change_percent`"), "{}", text_of(&output));
}
