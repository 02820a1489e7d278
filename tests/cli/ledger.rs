//! Life across nights: the settlement ledger, nights in order, the register and carried files verified,
//! forced reruns as atomic as first runs. Each test is named after what it closes; the first ten are the
//! ten ways money was paid twice or lost (or a false alarm raised) before the ledger existed.

use super::*;

/// The payout files (`payouts/*.xml`) of a run directory.
fn pain_files(run_dir: &Path) -> Vec<String> {
    match fs::read_dir(run_dir.join("payouts")) {
        Ok(entries) => {
            let mut names: Vec<String> = entries
                .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
                .filter(|n| n.ends_with(".xml"))
                .collect();
            names.sort();
            names
        }
        Err(_) => Vec::new(),
    }
}

fn demo_on(out: &Path, date: &str, extra: &[&str]) -> Output {
    run_ok(settle().current_dir(root()).args(["run", "jobs/demo.toml", "--date", date, "--out"]).arg(out).args(extra))
}

fn check_archive(out: &Path) -> Output {
    run_ok(settle().arg("check-archive").arg(out))
}

/// Every file under OUT that a run leaves under a final name (temp files and the lock left out).
fn final_files(out: &Path) -> BTreeMap<String, Vec<u8>> {
    dir_bytes(out)
        .into_iter()
        .filter(|(n, _)| {
            !n.ends_with("/.lock")
                && n != ".ledger.lock"
                && !n.rsplit('/').next().is_some_and(|leaf| leaf.starts_with(".settle-"))
        })
        .collect()
}

/// What a kill left of the night in `run_dir` (relative to `out`): the old night whole (its manifest
/// and every output as `old` has them: a forced rerun completes it, so `true`), the new night whole (as
/// `expected`), or an incomplete night whose manifest was retired or never written (a plain rerun
/// completes it). Never a manifest beside outputs of another run.
fn after_kill(
    out: &Path,
    run_dir: &str,
    old: &BTreeMap<String, Vec<u8>>,
    expected: &BTreeMap<String, Vec<u8>>,
    label: &str,
) -> bool {
    let manifest = format!("{run_dir}/manifest.json");
    let partial: BTreeMap<String, Vec<u8>> =
        final_files(out).into_iter().filter(|(n, _)| !n.ends_with("manifest.retired.json")).collect();
    match partial.get(&manifest) {
        Some(bytes) if old.get(&manifest) == Some(bytes) => {
            assert!(partial == *old, "{label}: the old manifest beside outputs of another run");
            true
        }
        Some(_) => {
            assert!(partial == *expected, "{label}: a manifest beside outputs of another run");
            false
        }
        None => false,
    }
}

/// Case 1: the demo's files run again under another business date (a re-sent report, an overlapping
/// export, a static job spec run with --date, a backfill) settle nothing again: every record the first
/// night settled is `already_settled`, naming it; no payout is payable, no payout file written.
#[test]
fn the_same_files_under_another_business_date_are_not_paid_again() {
    let out = tempfile::tempdir().unwrap();
    assert_eq!(run_demo(out.path(), &[], false).status.code(), Some(1));
    let register = fs::read(out.path().join("demo/payout_register.csv")).unwrap();
    let again = demo_on(out.path(), "2026-11-02", &[]);
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    let night2 = out.path().join("demo/2026-11-02");
    assert_eq!(pain_files(&night2), Vec::<String>::new(), "{}", stdout(&again));
    let summary: serde_json::Value = serde_json::from_slice(&fs::read(night2.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["payouts"]["payable_totals"], serde_json::json!({}), "{}", summary["payouts"]);
    let exceptions = fs::read_to_string(night2.join("exceptions.csv")).unwrap();
    let settled = exceptions.lines().filter(|l| l.contains(",already_settled,DUPLICATE,rejected,low,")).count();
    assert!(settled > 150, "{settled} rows already_settled");
    assert!(
        exceptions.contains("already settled by this job on 2026-10-31 (run directory demo/2026-10-31)"),
        "{exceptions}"
    );
    // Adyen's references that paid B00001 USD 1621.57 on the first night pay nothing now.
    let payouts = fs::read_to_string(night2.join("payouts.csv")).unwrap();
    assert!(!payouts.contains("USD:1621.57"), "{payouts}");
    assert_eq!(fs::read(out.path().join("demo/payout_register.csv")).unwrap(), register);
    let check = check_archive(out.path());
    assert_eq!(check.status.code(), Some(0), "{}{}", stdout(&check), stderr(&check));

    // An earlier date after the later ones (a backfill) is refused, naming them: nothing is written.
    let backfill = demo_on(out.path(), "2026-10-30", &[]);
    assert_eq!(backfill.status.code(), Some(2), "{}", stderr(&backfill));
    assert!(
        stderr(&backfill).contains("the job has nights after 2026-10-30 (2026-10-31, 2026-11-02)"),
        "{}",
        stderr(&backfill)
    );
    assert!(stderr(&backfill).contains("hint: pass --and-later"), "{}", stderr(&backfill));
    assert!(!out.path().join("demo/2026-10-30").exists());
}

/// Case 2: the same night under a second job name, into the same output root, pays nobody twice: the
/// second job finds every record settled or held by the first.
#[test]
fn the_same_night_under_two_job_names_pays_once() {
    let layout = demo_layout();
    let demo = fs::read_to_string(root().join("jobs/demo.toml")).unwrap();
    fs::write(layout.path().join("jobs/demo.toml"), &demo).unwrap();
    fs::write(layout.path().join("jobs/demo2.toml"), demo.replace("name = \"demo\"", "name = \"demo2\"")).unwrap();
    let out = layout.path().join("out");
    for job in ["jobs/demo.toml", "jobs/demo2.toml"] {
        let run = run_ok(settle().current_dir(layout.path()).args(["run", job, "--out"]).arg(&out));
        assert_eq!(run.status.code(), Some(1), "{job}: {}", stderr(&run));
    }
    assert_eq!(pain_files(&out.join("demo/2026-10-31")).len(), 4);
    assert_eq!(pain_files(&out.join("demo2/2026-10-31")), Vec::<String>::new());
    assert!(!out.join("demo2/payout_register.csv").exists());
    let exceptions = fs::read_to_string(out.join("demo2/2026-10-31/exceptions.csv")).unwrap();
    assert!(exceptions.contains("already settled by job `demo` on 2026-10-31"), "{exceptions}");
    assert!(exceptions.contains("held open by job `demo` since its night of 2026-10-31"), "{exceptions}");
    assert!(exceptions.lines().skip(1).all(|l| l.contains(",already_settled,")), "{exceptions}");
    let check = check_archive(&out);
    assert_eq!(check.status.code(), Some(0), "{}{}", stdout(&check), stderr(&check));

    // Both jobs started at once (two cron lines at 02:30): the output root's ledger lock makes one wait
    // for the other's commit, so one of them pays and the other finds everything settled.
    let together = layout.path().join("together");
    let children: Vec<_> = ["jobs/demo.toml", "jobs/demo2.toml"]
        .iter()
        .map(|job| {
            settle()
                .current_dir(layout.path())
                .args(["run", job, "--out"])
                .arg(&together)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    }
    let files =
        pain_files(&together.join("demo/2026-10-31")).len() + pain_files(&together.join("demo2/2026-10-31")).len();
    assert_eq!(files, 4, "one job's payout files, not both");
    let check = check_archive(&together);
    assert_eq!(check.status.code(), Some(0), "{}{}", stdout(&check), stderr(&check));
}

/// Case 3: a payout register deleted, cut back or restored from an older backup is refused before
/// anything is written (it is the guard against paying twice); `settle register rebuild` makes it
/// again from the run directories, the same bytes.
#[test]
fn a_deleted_or_restored_payout_register_is_refused_and_rebuilt() {
    let out = tempfile::tempdir().unwrap();
    assert_eq!(run_demo(out.path(), &[], false).status.code(), Some(1));
    let run_dir = out.path().join("demo/2026-10-31");
    let before = dir_bytes(&run_dir);
    let path = out.path().join("demo/payout_register.csv");
    let register = fs::read_to_string(&path).unwrap();
    fs::remove_file(&path).unwrap();
    let refused = run_demo(out.path(), &[], true);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let message = stderr(&refused);
    assert!(
        message.contains("is not what the night of 2026-10-31 left: it holds 0 payouts of that night"),
        "{message}"
    );
    assert!(message.contains("hint: never run a night against it: `settle register rebuild"), "{message}");
    assert_eq!(dir_bytes(&run_dir), before, "nothing of the night was touched");
    assert!(!path.exists());

    let rebuilt = run_ok(settle().args(["register", "rebuild"]).arg(out.path().join("demo")));
    assert_eq!(rebuilt.status.code(), Some(0), "{}", stderr(&rebuilt));
    assert!(stdout(&rebuilt).contains("payouts        7 from 1 nights"), "{}", stdout(&rebuilt));
    assert_eq!(fs::read_to_string(&path).unwrap(), register);

    // An older copy (one payout short) is refused the same way, and rebuilt; the one it replaced is kept.
    let short: String = register.lines().take(7).map(|l| format!("{l}\n")).collect();
    fs::write(&path, &short).unwrap();
    let refused = run_demo(out.path(), &[], true);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("it holds 6 payouts of that night"), "{}", stderr(&refused));
    let rebuilt = run_ok(settle().args(["register", "rebuild"]).arg(out.path().join("demo")));
    assert_eq!(rebuilt.status.code(), Some(0), "{}", stderr(&rebuilt));
    assert_eq!(fs::read_to_string(&path).unwrap(), register);
    assert_eq!(fs::read_to_string(out.path().join("demo/payout_register.csv.replaced")).unwrap(), short);
    let forced = run_demo(out.path(), &[], true);
    assert_eq!(forced.status.code(), Some(1), "{}", stderr(&forced));
    assert_eq!(dir_bytes(&run_dir), before);
    assert_eq!(stdout(&forced).matches("already emitted by an earlier run of this date").count(), 4);
}

/// Case 4: `settle replay --keep` into the real output root is refused: a replay writes only into its
/// own folder, never over runs, a register or a ledger.
#[test]
fn replay_keep_refuses_a_folder_that_holds_runs() {
    let out = tempfile::tempdir().unwrap();
    assert_eq!(run_demo(out.path(), &[], false).status.code(), Some(1));
    assert_eq!(demo_on(out.path(), "2026-11-02", &[]).status.code(), Some(1));
    let before = final_files(out.path());
    let refused = run_ok(settle().arg("replay").arg(out.path().join("demo/2026-10-31")).arg("--keep").arg(out.path()));
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("the folder is not empty"), "{}", stderr(&refused));
    assert_eq!(final_files(out.path()), before);
    let fresh = tempfile::tempdir().unwrap();
    let kept = fresh.path().join("replayed");
    let replayed = run_ok(settle().arg("replay").arg(out.path().join("demo/2026-10-31")).arg("--keep").arg(&kept));
    assert_eq!(replayed.status.code(), Some(0), "{}", stderr(&replayed));
    assert_eq!(dir_bytes(&kept.join("demo/2026-10-31")), dir_bytes(&out.path().join("demo/2026-10-31")));
}

/// Case 5: nights run out of order are refused (later nights were built on the earlier ones); `--force`
/// on a night later nights built on names them; `--and-later` recomputes them in order, the same bytes
/// when nothing changed.
#[test]
fn nights_out_of_order_are_refused_unless_the_later_ones_are_recomputed() {
    let out = tempfile::tempdir().unwrap();
    assert_eq!(run_demo(out.path(), &[], false).status.code(), Some(1));
    assert_eq!(demo_on(out.path(), "2026-11-03", &[]).status.code(), Some(1));
    let before = final_files(out.path());
    let between = demo_on(out.path(), "2026-11-02", &[]);
    assert_eq!(between.status.code(), Some(2), "{}", stderr(&between));
    assert!(stderr(&between).contains("the job has nights after 2026-11-02 (2026-11-03)"), "{}", stderr(&between));
    let forced = run_demo(out.path(), &[], true);
    assert_eq!(forced.status.code(), Some(2), "{}", stderr(&forced));
    assert!(stderr(&forced).contains("nights after 2026-10-31 (2026-11-03)"), "{}", stderr(&forced));
    assert_eq!(final_files(out.path()), before, "nothing written");
    let recomputed = demo_on(out.path(), "2026-10-31", &["--force", "--and-later"]);
    assert_eq!(recomputed.status.code(), Some(1), "{}", stderr(&recomputed));
    assert!(stderr(&recomputed).contains("recomputing the later night of 2026-11-03"), "{}", stderr(&recomputed));
    assert_eq!(final_files(out.path()), before, "the same bytes: nothing changed");
    // A night between them, with the later one recomputed after it.
    let inserted = demo_on(out.path(), "2026-11-02", &["--and-later"]);
    assert_eq!(inserted.status.code(), Some(1), "{}", stderr(&inserted));
    let check = check_archive(out.path());
    assert_eq!(check.status.code(), Some(0), "{}{}", stdout(&check), stderr(&check));
}

/// Case 6 (and 10): night 2's statement debits B00002's payout (stage C); check-archive agrees with
/// that night's tallies. Night 3's pain.002 then rejects that payout: the bank's own statement says the
/// money left, so the rejection is for a person, not a return that would pay it again.
#[test]
fn a_status_report_rejecting_a_payout_the_bank_debited_is_for_a_person() {
    let out = tempfile::tempdir().unwrap();
    assert_eq!(run_demo(out.path(), &[], false).status.code(), Some(1));
    let register = fs::read_to_string(out.path().join("demo/payout_register.csv")).unwrap();
    let b2: Vec<&str> = register.lines().find(|l| l.contains(",B00002,")).unwrap().split(',').collect();
    let (payout, message_id, batch_id, amount) = (b2[0], b2[2], b2[3], b2[9]);
    let work = tempfile::tempdir().unwrap();
    let debit = work.path().join("bank.csv");
    fs::write(
        &debit,
        format!(
            "account_id,entry_id,booking_date,value_date,direction,amount,currency,reference\n\
             DE89370400440532013000,2026-11-02-1,2026-11-02,2026-11-02,DBIT,{amount},EUR,{payout}\n"
        ),
    )
    .unwrap();
    let report = work.path().join("pain002.xml");
    fs::write(&report, pain002_rejection("2026-11-03", message_id, batch_id, payout, "")).unwrap();
    let fixtures = root().join("fixtures/demo");
    let spec = |date: &str, bank: &str, status: &str| {
        let path = work.path().join(format!("night_{date}.toml"));
        fs::write(
            &path,
            format!(
                "[job]\nname = \"demo\"\nbusiness_date = \"{date}\"\nreporting_currency = \"EUR\"\n\
                 [inputs]\norders = []\nchannel_transactions = []\nbank_entries = [{bank}]\nrates = [{:?}, {:?}]\n\
                 beneficiaries = [{:?}]\npayment_status = [{status}]\n\
                 [[payouts.fee_plans]]\nid = \"marketplace\"\nrules = []\n",
                fixtures.join("eurofxref-hist.csv").display().to_string(),
                fixtures.join("rates.csv").display().to_string(),
                fixtures.join("beneficiaries.csv").display().to_string(),
            ),
        )
        .unwrap();
        path
    };
    let quoted = |p: &Path| format!("{:?}", p.display().to_string());
    let second = run_ok(settle().arg("run").arg(spec("2026-11-02", &quoted(&debit), "")).arg("--out").arg(out.path()));
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    let matches = fs::read_to_string(out.path().join("demo/2026-11-02/matches.csv")).unwrap();
    assert!(matches.lines().any(|l| l.contains(",C,") && l.contains(payout)), "{matches}");
    // Case 10: a night with a stage C match checks clean (the debit is tallied under stage B).
    let check = check_archive(out.path());
    assert_eq!(check.status.code(), Some(0), "{}{}", stdout(&check), stderr(&check));

    let third = run_ok(settle().arg("run").arg(spec("2026-11-03", "", &quoted(&report))).arg("--out").arg(out.path()));
    assert_eq!(third.status.code(), Some(1), "{}", stderr(&third));
    let message = stderr(&third);
    assert!(
        message.contains(&format!(
            "rejects payout {payout} (EndToEndId {payout}), which the bank statement debited on 2026-11-02: not returned to B00002's balance; needs a person"
        )),
        "{message}"
    );
    let night3 = out.path().join("demo/2026-11-03");
    let returned = fs::read_to_string(night3.join("returned_payouts.csv")).unwrap();
    assert!(!returned.contains(payout), "{returned}");
    let register = fs::read_to_string(out.path().join("demo/payout_register.csv")).unwrap();
    let line = register.lines().find(|l| l.starts_with(payout)).unwrap();
    assert!(line.ends_with(",,"), "not returned: {line}");
    let payouts = fs::read_to_string(night3.join("payouts.csv")).unwrap();
    assert!(!payouts.contains(&format!(",{amount},EUR,payable,")), "{payouts}");
}

/// Case 7: the previous night's carried files are verified against its manifest, never trusted: an
/// edited balance (35 616.24 owed becomes 1.00) or a deleted line stops the next night, naming the file.
#[test]
fn an_edited_carried_file_is_refused_not_carried() {
    let out = tempfile::tempdir().unwrap();
    assert_eq!(run_demo(out.path(), &[], false).status.code(), Some(1));
    let night1 = out.path().join("demo/2026-10-31");
    for (name, edit) in [
        (
            "open_balances.csv",
            &(|t: &str| {
                // The first balance's amount becomes 1.00.
                let mut lines: Vec<String> = t.lines().map(str::to_string).collect();
                let mut cells: Vec<String> = lines[1].split(',').map(str::to_string).collect();
                cells[1] = "1.00".into();
                lines[1] = cells.join(",");
                lines.iter().map(|l| format!("{l}\n")).collect::<String>()
            }) as &dyn Fn(&str) -> String,
        ),
        ("open_orders.csv", &|t: &str| t.lines().take(1).map(|l| format!("{l}\n")).collect::<String>()),
    ] {
        let path = night1.join(name);
        let good = fs::read_to_string(&path).unwrap();
        let bad = edit(&good);
        assert_ne!(bad, good, "{name}: the edit changes it");
        fs::write(&path, &bad).unwrap();
        let refused = demo_on(out.path(), "2026-11-02", &[]);
        assert_eq!(refused.status.code(), Some(2), "{name}: {}", stderr(&refused));
        let message = stderr(&refused);
        assert!(
            message.contains(&format!(
                "open items of the run of 2026-10-31 (2026-10-31/{name}): changed since its night wrote it"
            )),
            "{message}"
        );
        assert!(!out.path().join("demo/2026-11-02").exists(), "{name}: nothing written");
        fs::write(&path, good).unwrap();
    }
    assert_eq!(demo_on(out.path(), "2026-11-02", &[]).status.code(), Some(1));
}

/// The ledger's own files are verified, never trusted: a night's key file deleted, or changed by one
/// byte, stops every later night (it cannot prove itself safe), naming the file, with what to do.
#[test]
fn a_missing_or_damaged_ledger_file_stops_the_next_night() {
    let out = tempfile::tempdir().unwrap();
    assert_eq!(run_demo(out.path(), &[], false).status.code(), Some(1));
    let keys = out.path().join("demo/2026-10-31/ledger.keys");
    let good = fs::read(&keys).unwrap();
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    fs::write(&keys, &flipped).unwrap();
    let refused = demo_on(out.path(), "2026-11-02", &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("settlement ledger demo/2026-10-31/ledger.keys: its records are not the ones"),
        "{}",
        stderr(&refused)
    );
    assert!(
        stderr(&refused).contains("hint: the file differs from what its night's manifest recorded"),
        "{}",
        stderr(&refused)
    );
    fs::remove_file(&keys).unwrap();
    let refused = demo_on(out.path(), "2026-11-02", &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("settlement ledger demo/2026-10-31/ledger.keys"), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("hint: a night's key file is missing"), "{}", stderr(&refused));
    assert!(!out.path().join("demo/2026-11-02").exists(), "nothing written");
    fs::write(&keys, good).unwrap();
    assert_eq!(demo_on(out.path(), "2026-11-02", &[]).status.code(), Some(1));
}

/// Expiry made safe: a night 76 days after the demo day, given the demo's files again. The demo night is
/// beyond the default 50-day horizon, so the ledger no longer reads it; its records, dated before the
/// horizon while that older night exists, are `beyond_ledger_horizon` (settle cannot prove it did not
/// settle them), never paid. With the horizon raised to 100 days the ledger reads the night and finds
/// them `already_settled`.
#[test]
fn records_older_than_the_ledger_horizon_are_refused_when_older_nights_exist() {
    let layout = demo_layout();
    let demo = fs::read_to_string(root().join("jobs/demo.toml"))
        .unwrap()
        .replace("max_rate_age_days = 4", "max_rate_age_days = 120");
    fs::write(layout.path().join("jobs/demo.toml"), &demo).unwrap();
    fs::write(
        layout.path().join("jobs/wide.toml"),
        demo.replace("# ledger_horizon_days = 50", "ledger_horizon_days = 100")
            .replace("name = \"demo\"", "name = \"wide\""),
    )
    .unwrap();
    let out = layout.path().join("out");
    let run = |job: &str, date: &str| {
        run_ok(settle().current_dir(layout.path()).args(["run", job, "--out"]).arg(&out).args(["--date", date]))
    };
    assert_eq!(run("jobs/demo.toml", "2026-10-31").status.code(), Some(1));
    let late = run("jobs/demo.toml", "2027-01-15");
    assert_eq!(late.status.code(), Some(1), "{}", stderr(&late));
    let night = out.join("demo/2027-01-15");
    let exceptions = fs::read_to_string(night.join("exceptions.csv")).unwrap();
    assert!(
        exceptions.lines().filter(|l| l.contains(",beyond_ledger_horizon,LEDGER_HORIZON,rejected,high,")).count() > 150,
        "{exceptions}"
    );
    assert!(exceptions.contains("dated before 2026-11-26, the settlement ledger's horizon"), "{exceptions}");
    assert!(!exceptions.contains(",already_settled,"), "the demo night is beyond the window: {exceptions}");
    // Nothing of tonight's records is matched (what pays tonight is the demo night's carried balances).
    let matches = fs::read_to_string(night.join("matches.csv")).unwrap();
    assert_eq!(matches.lines().count(), 1, "{matches}");
    let manifest: serde_json::Value = serde_json::from_slice(&fs::read(night.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["ledger_window"], serde_json::json!({"from": "2026-11-26", "older_nights": true}));
    let replayed = run_ok(settle().arg("replay").arg(&night));
    assert_eq!(replayed.status.code(), Some(0), "{}{}", stdout(&replayed), stderr(&replayed));
    // A job whose horizon reaches the demo night reads it, and finds the records settled there.
    let wide = run_ok(
        settle()
            .current_dir(layout.path())
            .args(["run", "jobs/wide.toml", "--out"])
            .arg(&out)
            .args(["--date", "2027-01-15"]),
    );
    assert_eq!(wide.status.code(), Some(1), "{}", stderr(&wide));
    let exceptions = fs::read_to_string(out.join("wide/2027-01-15/exceptions.csv")).unwrap();
    assert!(exceptions.contains("already settled by job `demo` on 2026-10-31"), "{exceptions}");
    assert!(!exceptions.contains(",beyond_ledger_horizon,"), "{exceptions}");
}

/// Case 8: a `--force` rerun killed at any of its writes never leaves the old manifest beside new
/// outputs: the night is incomplete (its manifest retired) until the new manifest is written, and a
/// plain rerun completes it with every byte of an undisturbed forced rerun, never a payout twice.
#[test]
fn a_forced_rerun_killed_at_any_write_leaves_a_night_a_plain_rerun_completes() {
    let layout = demo_layout();
    fs::write(layout.path().join("jobs/demo.toml"), fs::read(root().join("jobs/demo.toml")).unwrap()).unwrap();
    let first = layout.path().join("first");
    let run = |out: &Path, force: bool, fault: Option<String>| {
        let mut cmd = settle();
        cmd.current_dir(layout.path()).args(["run", "jobs/demo.toml", "--out"]).arg(out);
        if force {
            cmd.arg("--force");
        }
        if let Some(fault) = fault {
            cmd.env("SETTLE_FAULT", fault);
        }
        cmd.output().unwrap()
    };
    assert_eq!(run(&first, false, None).status.code(), Some(1));
    let old = final_files(&first);
    // The forced rerun reads one more order (open tonight): its tables differ, its payouts do not.
    let orders = layout.path().join("fixtures/demo/orders.csv");
    let mut text = fs::read_to_string(&orders).unwrap();
    text.push_str("O-EXTRA-1,sale,B00001,stripe,2026-10-30,12.00,EUR\n");
    fs::write(&orders, text).unwrap();
    let copy = |to: &Path| {
        assert!(Command::new("cp").arg("-a").arg(&first).arg(to).status().unwrap().success());
    };
    let reference = layout.path().join("reference");
    copy(&reference);
    assert_eq!(run(&reference, true, None).status.code(), Some(1));
    let expected = final_files(&reference);
    assert!(
        expected.get("demo/2026-10-31/open_orders.csv") != final_files(&first).get("demo/2026-10-31/open_orders.csv"),
        "the forced rerun writes other bytes"
    );
    let mut points = 0;
    for at in 1..200 {
        let out = layout.path().join(format!("at{at}"));
        copy(&out);
        let label = format!("abort-write:{at}");
        let killed = run(&out, true, Some(label.clone()));
        if killed.status.code() == Some(1) {
            break;
        }
        assert_eq!(killed.status.code(), None, "{label}: {}", stderr(&killed));
        points += 1;
        let force = after_kill(&out, "demo/2026-10-31", &old, &expected, &label);
        let ids: Vec<String> = csv::Reader::from_path(out.join("demo/payout_register.csv"))
            .unwrap()
            .records()
            .map(|r| r.unwrap()[1].to_string())
            .collect();
        let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{label}: an EndToEndId twice in the register");
        let rerun = run(&out, force, None);
        assert_eq!(rerun.status.code(), Some(1), "{label}: {}", stderr(&rerun));
        assert!(final_files(&out) == expected, "{label}: the completed night differs from an undisturbed rerun");
        if !stderr(&rerun).contains("is already complete") {
            // Its payout files were announced by the first run: not new.
            assert_eq!(
                stdout(&rerun).matches("already emitted by an earlier run").count(),
                4,
                "{label}: {}",
                stdout(&rerun)
            );
        }
        let check = check_archive(&out);
        assert_eq!(check.status.code(), Some(0), "{label}: {}{}", stdout(&check), stderr(&check));
        fs::remove_dir_all(&out).unwrap();
    }
    eprintln!("forced rerun: {points} points met abort-write");
    assert!(points >= 40, "a forced rerun makes at least 40 durable writes, {points} crashed");
}

/// Case 9: the archive is written first, so a run that cannot archive its inputs stops (exit 2) before
/// any payout file or register entry exists; and a night whose first run stopped after writing payout
/// files announces them as new when a rerun completes it (they were never announced), so an uploader
/// that waits for exit 0 or 1 sends them once.
#[test]
fn a_failed_archive_stops_the_night_before_any_payout_file() {
    let out = tempfile::tempdir().unwrap();
    fs::write(out.path().join(".archive"), b"not a directory").unwrap();
    let failed = run_demo(out.path(), &[], false);
    assert_eq!(failed.status.code(), Some(2), "{}", stderr(&failed));
    assert!(stderr(&failed).contains("hint:"), "{}", stderr(&failed));
    let run_dir = out.path().join("demo/2026-10-31");
    assert_eq!(pain_files(&run_dir), Vec::<String>::new());
    assert!(!out.path().join("demo/payout_register.csv").exists());
    fs::remove_file(out.path().join(".archive")).unwrap();
    let completed = run_demo(out.path(), &[], false);
    assert_eq!(completed.status.code(), Some(1), "{}", stderr(&completed));
    assert_eq!(stdout(&completed).matches(" (new)").count(), 4, "{}", stdout(&completed));
    // Stopped after its payout files and register, before its manifest: completed, they are new.
    fs::remove_file(run_dir.join("manifest.json")).unwrap();
    let resumed = run_demo(out.path(), &[], false);
    assert_eq!(resumed.status.code(), Some(1), "{}", stderr(&resumed));
    assert_eq!(stdout(&resumed).matches(" (new)").count(), 4, "{}", stdout(&resumed));
}

/// Writes night `night` of a generated sequence (150 orders, seed 11, the demo's debtor accounts) and
/// returns its directory.
pub(super) fn generated_night(dir: &Path, night: i64, debtor: &str) -> (PathBuf, String) {
    let first = settle_core::parse_date("2026-11-02").unwrap();
    let date = first.checked_add(jiff::Span::new().days(night - 1)).unwrap().to_string();
    let day = dir.join(format!("night{night:02}"));
    let generated = run_ok(settle().args(["gen", "--orders", "150", "--seed", "11", "--job-name", "nightly"]).args([
        "--night",
        &night.to_string(),
        "--date",
        &date,
        "--out",
        day.to_str().unwrap(),
    ]));
    assert_eq!(generated.status.code(), Some(0), "{}", stderr(&generated));
    let job = day.join("job.toml");
    let spec = fs::read_to_string(&job).unwrap().replace("[output]", &format!("{debtor}[output]"));
    fs::write(&job, spec).unwrap();
    (day, date)
}

/// Thirty generated nights delivered as real feeds are: every order export overlapping the night
/// before's, one channel report re-sent under a new name, one bank statement delivered twice and one a
/// day late. Every record is settled exactly once across the nights (check-archive's ledger check),
/// nothing is paid twice (no EndToEndId in two files), every night conserves money, and night 17
/// replays byte for byte.
#[test]
fn thirty_nights_of_overlapping_resent_and_late_feeds_settle_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let demo = fs::read_to_string(root().join("jobs/demo.toml")).unwrap();
    let debtor = demo[demo.find("[payouts.debtor]").unwrap()..demo.find("[output]").unwrap()].to_string();
    let mut already = 0usize;
    for night in 1..=30i64 {
        let (day, _) = generated_night(dir.path(), night, &debtor);
        let job = day.join("job.toml");
        let mut spec = fs::read_to_string(&job).unwrap();
        if night > 1 {
            // "Orders of the last two days": yesterday's export again.
            spec = spec.replace(
                "orders = [\"orders.csv\"]",
                &format!("orders = [\"../night{:02}/orders.csv\", \"orders.csv\"]", night - 1),
            );
        }
        if night == 11 {
            // Night 10's Stripe report sent again under another name.
            fs::copy(dir.path().join("night10/stripe_payout_reconciliation.csv"), day.join("stripe_resent.csv"))
                .unwrap();
            spec = spec.replace(
                "channel_transactions = [",
                "channel_transactions = [\n  { path = \"stripe_resent.csv\", profile = \"stripe_itemized\" },",
            );
        }
        if night == 16 {
            // Night 15's EUR statement delivered again.
            spec = spec.replace("bank_entries = [", "bank_entries = [\"../night15/bank_statement_eur.xml\", ");
        }
        if night == 20 {
            // Night 20's statements arrive a day late.
            spec = spec.replace(
                "bank_entries = [\"bank_statement_eur.xml\", \"bank_statement_usd.sta\"]",
                "bank_entries = []",
            );
        }
        if night == 21 {
            spec = spec.replace(
                "bank_entries = [",
                "bank_entries = [\"../night20/bank_statement_eur.xml\", \"../night20/bank_statement_usd.sta\", ",
            );
        }
        fs::write(&job, spec).unwrap();
        let run = run_ok(settle().args(["run", "-q", job.to_str().unwrap(), "--out", out.to_str().unwrap()]));
        assert_eq!(run.status.code(), Some(1), "night {night}: {}", stderr(&run));
        let date =
            settle_core::parse_date("2026-11-02").unwrap().checked_add(jiff::Span::new().days(night - 1)).unwrap();
        let exceptions = fs::read_to_string(out.join(format!("nightly/{date}/exceptions.csv"))).unwrap();
        already += exceptions.matches(",already_settled,").count();
    }
    assert!(already > 1000, "the overlapping exports and re-sent files were caught: {already} rows");
    let check = check_archive(&out);
    assert_eq!(check.status.code(), Some(0), "{}{}", stdout(&check), stderr(&check));
    assert!(stderr(&check).contains("every invariant holds: 30 runs of 1 jobs"), "{}", stderr(&check));
    let replayed = run_ok(settle().arg("replay").arg(out.join("nightly/2026-11-18")));
    assert_eq!(replayed.status.code(), Some(0), "{}{}", stdout(&replayed), stderr(&replayed));
    assert!(stdout(&replayed).contains("identical"), "{}", stdout(&replayed));
}

/// SplitMix64: the test's own fixed-seed sequence of kill delays.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `kill -9` at twenty points in time of a 10^4-order night and of a forced rerun of it (the fault
/// matrix kills at every write point; this kills wherever the process happens to be): never an
/// EndToEndId in two files or twice in the register, never a night called complete that is mixed, and a
/// plain rerun completes it with the bytes of an undisturbed run.
#[test]
fn kill_9_at_random_instants_never_pays_twice_or_mixes_a_night() {
    let dir = tempfile::tempdir().unwrap();
    let demo = fs::read_to_string(root().join("jobs/demo.toml")).unwrap();
    let debtor = &demo[demo.find("[payouts.debtor]").unwrap()..demo.find("[output]").unwrap()];
    let day = dir.path().join("day");
    let generated = run_ok(settle().args(["gen", "--orders", "10000", "--seed", "5", "--out"]).arg(&day));
    assert_eq!(generated.status.code(), Some(0), "{}", stderr(&generated));
    let job = day.join("job.toml");
    fs::write(&job, fs::read_to_string(&job).unwrap().replace("[output]", &format!("{debtor}[output]"))).unwrap();
    let run = |out: &Path, force: bool| {
        let mut cmd = settle();
        cmd.arg("run").arg("-q").arg(&job).arg("--out").arg(out);
        if force {
            cmd.arg("--force");
        }
        cmd
    };
    // Undisturbed: the first run, and a forced rerun after one more order.
    let reference = dir.path().join("reference");
    let started = std::time::Instant::now();
    assert_eq!(run_ok(&mut run(&reference, false)).status.code(), Some(1));
    let duration_ms = started.elapsed().as_millis().max(50) as u64;
    let first = final_files(&reference);
    let nothing = BTreeMap::new();
    let mut state = 17u64;
    for (force, label) in [(false, "first run"), (true, "forced rerun")] {
        let expected = if force {
            let orders = day.join("orders.csv");
            let mut text = fs::read_to_string(&orders).unwrap();
            if !text.contains("O-EXTRA-1,") {
                text.push_str("O-EXTRA-1,sale,B00001,stripe,2026-10-30,12.00,EUR\n");
                fs::write(&orders, text).unwrap();
            }
            let forced = dir.path().join("forced-reference");
            assert!(Command::new("cp").arg("-a").arg(&reference).arg(&forced).status().unwrap().success());
            assert_eq!(run_ok(&mut run(&forced, true)).status.code(), Some(1));
            final_files(&forced)
        } else {
            first.clone()
        };
        for k in 0..20 {
            let out = dir.path().join(format!("kill-{force}-{k}"));
            if force {
                assert!(Command::new("cp").arg("-a").arg(&reference).arg(&out).status().unwrap().success());
            }
            let delay = splitmix(&mut state) % duration_ms;
            let mut child = run(&out, force)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(delay));
            let _ = child.kill();
            let _ = child.wait();
            let what = format!("{label}, killed after {delay} ms");
            let rerun_forced = out.exists()
                && after_kill(&out, "gen/2026-10-31", if force { &first } else { &nothing }, &expected, &what);
            let register = out.join(format!("{}/payout_register.csv", "gen"));
            if register.exists() {
                let ids: Vec<String> =
                    csv::Reader::from_path(&register).unwrap().records().map(|r| r.unwrap()[1].to_string()).collect();
                let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
                assert_eq!(unique.len(), ids.len(), "{what}: an EndToEndId twice in the register");
            }
            let check = check_archive(&out);
            assert!(check.status.code() != Some(1), "{what}: {}", stdout(&check));
            let rerun = run_ok(&mut run(&out, rerun_forced));
            assert_eq!(rerun.status.code(), Some(1), "{what}: {}", stderr(&rerun));
            assert!(final_files(&out) == expected, "{what}: the completed night differs from an undisturbed run");
            let check = check_archive(&out);
            assert_eq!(check.status.code(), Some(0), "{what}: {}{}", stdout(&check), stderr(&check));
            fs::remove_dir_all(&out).unwrap();
        }
    }
}
