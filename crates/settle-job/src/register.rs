//! The payout register: every payout a job ever wrote into a payout file, one CSV row each, kept in
//! the job's directory beside its runs (`<out>/<job>/payout_register.csv`). A run reads it before it
//! writes payout files and appends the payouts of its new files after writing them and before its
//! manifest (see settle_payout::files for what it prevents).
//!
//! Columns: `payout_id,end_to_end_id,message_id,payment_information_id,file,file_sha256,business_date,
//! beneficiary_id,account,amount,currency,returned_on,return_reason` (`account`: the IBAN, or
//! `<clearing system>/<bank code>/<account number>`), in emission order. `returned_on` is
//! the business date of the run that returned a payout the bank rejected (pain.002) to its
//! beneficiary's balance (settle_payout::returns), with the reason codes.

use settle_core::{Currency, Money, parse_date};
use settle_payout::files::{PaidAccount, Register, RegisterEntry, Returned};

/// A night's own register entries, in its run directory (see `slice`).
pub const SLICE: &str = "registered_payouts.csv";

pub const FILE: &str = "payout_register.csv";

const COLUMNS: [&str; 13] = [
    "payout_id",
    "end_to_end_id",
    "message_id",
    "payment_information_id",
    "file",
    "file_sha256",
    "business_date",
    "beneficiary_id",
    "account",
    "amount",
    "currency",
    "returned_on",
    "return_reason",
];

/// The register as it stood before `business_date`: the entries of earlier dates, without returns made
/// on that date or later. A first run of the date and its reruns see the same.
pub fn before(register: &Register, business_date: settle_core::Date) -> Register {
    let entries = register
        .entries
        .iter()
        .filter(|e| e.business_date < business_date)
        .map(|e| {
            let mut e = e.clone();
            if e.returned.as_ref().is_some_and(|r| r.on >= business_date) {
                e.returned = None;
            }
            e
        })
        .collect();
    Register { entries }
}

/// Checks the payout register against the job's complete nights dated `from` or later: each one's
/// entries (`slice`) must be the ones its run directory's `registered_payouts.csv` holds, as its manifest
/// recorded it. A register deleted, cut back, restored from an older backup or edited is refused: it is
/// the guard against paying twice.
pub fn verify(job_dir: &std::path::Path, register: &Register, from: settle_core::Date) -> Result<(), crate::JobError> {
    let path = job_dir.join(FILE).display().to_string();
    for night in crate::nights::listed(job_dir)?.into_iter().filter(|n| n.complete && n.date >= from) {
        let behind =
            |message: String| crate::JobError::RegisterBehind { path: path.clone(), night: night.date, message };
        let (manifest_path, _, manifest) = crate::replay::read_manifest(&night.dir)?;
        let Some(recorded) = crate::replay::recorded_outputs(&manifest).get(SLICE).copied() else {
            return Err(behind(format!(
                "{} lists no {SLICE} (written by an earlier settle): the register cannot be proved whole",
                manifest_path.display()
            )));
        };
        let bytes = slice(register, night.date).map_err(|e| behind(format!("cannot serialize it: {e}")))?;
        if crate::pipeline::sha256_hex(&bytes) != recorded {
            let found = register.entries.iter().filter(|e| e.business_date == night.date).count();
            let was = crate::fault::read(night.dir.join(SLICE))
                .ok()
                .and_then(|b| read(&b).ok())
                .map_or_else(|| "(unreadable)".to_string(), |r| r.entries.len().to_string());
            return Err(behind(format!(
                "it holds {found} payouts of that night, its run directory's {SLICE} {was}{}",
                if found.to_string() == was { ", with other content" } else { "" }
            )));
        }
    }
    Ok(())
}

/// `registered_payouts.csv`: the register's entries of `date` (a night's payouts in its payout files),
/// returns cleared (the night that returns one says so in its returned_payouts.csv). `settle register
/// rebuild` makes the register again from these.
pub fn slice(register: &Register, date: settle_core::Date) -> Result<Vec<u8>, csv::Error> {
    let entries = register
        .entries
        .iter()
        .filter(|e| e.business_date == date)
        .map(|e| RegisterEntry { returned: None, ..e.clone() })
        .collect();
    write(&Register { entries })
}

/// The register's bytes.
pub fn write(register: &Register) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS)?;
    for e in &register.entries {
        w.write_record([
            e.payout_id.as_str(),
            &e.end_to_end_id,
            &e.message_id,
            &e.payment_information_id,
            &e.file,
            &e.file_sha256,
            &e.business_date.to_string(),
            &escape(&e.beneficiary_id),
            &escape(&e.account),
            &settle_core::format_minor(e.amount.amount(), e.amount.currency()),
            e.amount.currency().code(),
            &e.returned.as_ref().map(|r| r.on.to_string()).unwrap_or_default(),
            &escape(e.returned.as_ref().map_or("", |r| r.reason.as_str())),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// Whether a text cell needs a leading `'` so a spreadsheet opening the register (the file an auditor
/// opens) takes it as text, not a formula: it starts, after any `'`, with `=`, `+`, `-`, `@`, a tab or a
/// carriage return (OWASP's CSV injection rule), and is not a number.
fn needs_quote(cell: &str) -> bool {
    cell.trim_start_matches('\'').starts_with(['=', '+', '-', '@', '\t', '\r'])
        && cell.parse::<settle_core::Decimal>().is_err()
}

/// A text cell as the register writes it (`needs_quote`); `unescape` gives it back exactly.
fn escape(cell: &str) -> std::borrow::Cow<'_, str> {
    if needs_quote(cell) { std::borrow::Cow::Owned(format!("'{cell}")) } else { std::borrow::Cow::Borrowed(cell) }
}

fn unescape(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_quote(rest) => rest,
        _ => cell,
    }
}

/// Reads a register written by `write`; the error names the line and what was expected.
pub fn read(bytes: &[u8]) -> Result<Register, String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
    let header = reader.headers().map_err(|e| format!("line 1: {e}"))?.clone();
    if header.iter().collect::<Vec<_>>() != COLUMNS {
        return Err(format!("line 1: expected the columns {}", COLUMNS.join(",")));
    }
    let mut entries = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let line = n + 2;
        let record = record.map_err(|e| format!("line {line}: {e}"))?;
        let field = |i: usize| record.get(i).unwrap_or("");
        let currency = Currency::from_code(field(10))
            .map_err(|_| format!("line {line}: currency {:?} is not ISO 4217", field(10)))?;
        let amount = field(9).parse().map_err(|_| format!("line {line}: amount {:?} is not a decimal", field(9)))?;
        let business_date =
            parse_date(field(6)).map_err(|_| format!("line {line}: business_date {:?} is not YYYY-MM-DD", field(6)))?;
        let returned = match field(11) {
            "" => None,
            on => Some(Returned {
                on: parse_date(on).map_err(|_| format!("line {line}: returned_on {on:?} is not YYYY-MM-DD"))?,
                reason: unescape(field(12)).to_string(),
            }),
        };
        entries.push(RegisterEntry {
            payout_id: field(0).to_string(),
            end_to_end_id: field(1).to_string(),
            message_id: field(2).to_string(),
            payment_information_id: field(3).to_string(),
            file: field(4).to_string(),
            file_sha256: field(5).to_string(),
            business_date,
            beneficiary_id: unescape(field(7)).to_string(),
            account: unescape(field(8)).to_string(),
            amount: Money::new(amount, currency),
            returned,
        });
    }
    // A register that holds a payout id twice was not written by settle: refuse it rather than guess.
    let mut seen = std::collections::BTreeSet::new();
    for (n, e) in entries.iter().enumerate() {
        if !seen.insert(e.payout_id.as_str()) {
            return Err(format!("line {}: payout id {} is in the register twice", n + 2, e.payout_id));
        }
    }
    Ok(Register { entries })
}

/// `returned_payouts.csv`: the payouts tonight's status reports reject or bank statements bring back, in
/// register order; `source` is the report's MsgId or the returning bank entry; `applied` says whether
/// tonight returned it to the balance (`false`: an earlier night did).
pub fn returned_csv(
    register: &Register,
    rejections: &[settle_payout::returns::Rejection],
) -> Result<Vec<u8>, csv::Error> {
    let mut w = settle_report::TableWriter::new();
    w.write_record([
        "payout_id",
        "end_to_end_id",
        "message_id",
        "payment_information_id",
        "business_date",
        "beneficiary_id",
        "amount",
        "currency",
        "reason",
        "source",
        "applied",
    ])?;
    for r in rejections {
        let e = &register.entries[r.entry];
        w.write_record([
            e.payout_id.as_str(),
            &e.end_to_end_id,
            &e.message_id,
            &e.payment_information_id,
            &e.business_date.to_string(),
            &e.beneficiary_id,
            &settle_core::format_minor(e.amount.amount(), e.amount.currency()),
            e.amount.currency().code(),
            &r.reason,
            &r.source,
            if r.applied { "true" } else { "false" },
        ])?;
    }
    w.into_inner()
}

/// Reads a paid-accounts file (`beneficiary_id,iban,paid_on`, the header naming the columns in any
/// order); errors name the file and line.
pub fn read_paid_accounts(name: &str, bytes: &[u8]) -> Result<Vec<PaidAccount>, String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
    let header = reader.headers().map_err(|e| format!("{name}:1: {e}"))?.clone();
    let column = |wanted: &str| {
        header
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').trim() == wanted)
            .ok_or_else(|| format!("{name}:1: missing column `{wanted}`: expected beneficiary_id,iban,paid_on"))
    };
    let (id, iban, paid_on) = (column("beneficiary_id")?, column("iban")?, column("paid_on")?);
    let mut out = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let line = n + 2;
        let record = record.map_err(|e| format!("{name}:{line}: {e}"))?;
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let account: String = field(iban).chars().filter(|c| !c.is_whitespace()).collect();
        if field(id).is_empty() || !settle_core::iban::is_valid(&account) {
            return Err(format!(
                "{name}:{line}: expected a beneficiary id and a valid IBAN, found {:?} and {:?}",
                field(id),
                field(iban)
            ));
        }
        let paid_on = parse_date(field(paid_on))
            .map_err(|_| format!("{name}:{line}: column `paid_on`: {:?} is not YYYY-MM-DD", field(paid_on)))?;
        out.push(PaidAccount { beneficiary_id: field(id).to_string(), iban: account, paid_on });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_an_id_twice() {
        let entry = RegisterEntry {
            payout_id: "PO1".into(),
            end_to_end_id: "PO1".into(),
            message_id: "SABC-20261031-EUR-1".into(),
            file: "payouts/DE89-EUR-2026-10-31.xml".into(),
            file_sha256: "00ff".into(),
            business_date: parse_date("2026-10-31").unwrap(),
            beneficiary_id: "B1".into(),
            account: "DE02120300000000202051".into(),
            amount: Money::new("12.30".parse().unwrap(), Currency::from_code("EUR").unwrap()),
            payment_information_id: "SABC-20261031-EUR-1-1".into(),
            returned: Some(Returned { on: parse_date("2026-11-03").unwrap(), reason: "AC04".into() }),
        };
        let register = Register { entries: vec![entry.clone()] };
        let bytes = write(&register).unwrap();
        assert_eq!(read(&bytes).unwrap(), register);
        let twice = write(&Register { entries: vec![entry.clone(), entry] }).unwrap();
        assert_eq!(read(&twice).unwrap_err(), "line 3: payout id PO1 is in the register twice");
        assert!(read(b"payout_id\nx\n").unwrap_err().starts_with("line 1: expected the columns"));
    }

    /// Found by issue 24: the register, the file an auditor opens, kept `=HYPERLINK(…)` and `-1+1` as
    /// written. Text cells a spreadsheet would run are written with a leading `'` and read back exactly.
    #[test]
    fn spreadsheet_formulas_are_written_as_text_and_read_back_exactly() {
        for id in ["=HYPERLINK(\"http://x\",\"y\")", "-1+1", "+1", "@SUM(A1)", "'=x", "''-1", "'-1", "-1", "B1", "'"] {
            let entry = RegisterEntry {
                payout_id: "PO1".into(),
                end_to_end_id: "PO1".into(),
                message_id: "M-1".into(),
                file: "payouts/x.xml".into(),
                file_sha256: "00ff".into(),
                business_date: parse_date("2026-10-31").unwrap(),
                beneficiary_id: id.into(),
                account: "DE02120300000000202051".into(),
                amount: Money::new("12.30".parse().unwrap(), Currency::from_code("EUR").unwrap()),
                payment_information_id: "M-1-1".into(),
                returned: Some(Returned { on: parse_date("2026-11-03").unwrap(), reason: "=1+2".into() }),
            };
            let register = Register { entries: vec![entry] };
            let bytes = write(&register).unwrap();
            let text = String::from_utf8(bytes.clone()).unwrap();
            let cells: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
            let formula = |c: &&str| {
                c.trim_start_matches('"').starts_with(['=', '+', '-', '@'])
                    && c.parse::<settle_core::Decimal>().is_err()
            };
            assert!(!cells.iter().any(formula), "{id}: {text}");
            assert_eq!(read(&bytes).unwrap(), register, "{id}");
        }
    }
}

/// What `settle register rebuild` did.
#[derive(Debug, Clone)]
pub struct Rebuilt {
    pub path: std::path::PathBuf,
    /// Payouts in the rebuilt register, and the nights they came from.
    pub payouts: usize,
    pub nights: usize,
    /// Payouts marked returned (from the nights' returned_payouts.csv).
    pub returned: usize,
    /// Where the register that was there went (`payout_register.csv.replaced`), if there was one.
    pub kept: Option<std::path::PathBuf>,
    /// Incomplete nights: their payouts are not in it (their rerun rebuilds the same files).
    pub incomplete: Vec<settle_core::Date>,
}

/// Makes the job's payout register again from its complete run directories (`job_dir` is
/// `OUT/<job>`): each night's `registered_payouts.csv` and `returned_payouts.csv`, each checked against
/// its night's manifest, in date order; then checks the result against every night (`verify`) and
/// writes it atomically under the job's lock. The register it replaces is kept beside it.
pub fn rebuild(job_dir: &std::path::Path) -> Result<Rebuilt, crate::JobError> {
    use crate::JobError;
    let nights = crate::nights::listed(job_dir)?;
    let Some(last) = nights.last() else {
        return Err(JobError::Audit {
            message: format!("{}: no run directories (OUT/<job>/YYYY-MM-DD)", job_dir.display()),
        });
    };
    let _lock = crate::lock::RunLock::acquire(job_dir, last.date)?;
    let mut entries: Vec<RegisterEntry> = Vec::new();
    let mut returns: Vec<(String, Returned)> = Vec::new();
    let mut incomplete = Vec::new();
    let mut complete = 0usize;
    for night in &nights {
        if !night.complete {
            incomplete.push(night.date);
            continue;
        }
        complete += 1;
        let (_, _, manifest) = crate::replay::read_manifest(&night.dir)?;
        let outputs = crate::replay::recorded_outputs(&manifest);
        let read_checked = |name: &str| -> Result<Vec<u8>, JobError> {
            let path = night.dir.join(name);
            let bad = |message: String| JobError::Register { path: path.display().to_string(), message };
            let bytes = crate::fault::read(&path).map_err(|e| bad(e.to_string()))?;
            crate::replay::check_recorded(&outputs, name, &bytes).map_err(bad)?;
            Ok(bytes)
        };
        let slice_path = night.dir.join(SLICE).display().to_string();
        let slice = read(&read_checked(SLICE)?).map_err(|message| JobError::Register { path: slice_path, message })?;
        entries.extend(slice.entries);
        let returned = read_checked("returned_payouts.csv")?;
        let mut reader = csv::Reader::from_reader(&returned[..]);
        let returned_path = night.dir.join("returned_payouts.csv").display().to_string();
        for record in reader.records() {
            let record =
                record.map_err(|e| JobError::Register { path: returned_path.clone(), message: e.to_string() })?;
            if record.get(10) == Some("true") {
                let reason = record.get(8).unwrap_or("").to_string();
                returns.push((record.get(0).unwrap_or("").to_string(), Returned { on: night.date, reason }));
            }
        }
    }
    let mut returned = 0usize;
    for (payout_id, r) in returns {
        if let Some(e) = entries.iter_mut().find(|e| e.payout_id == payout_id) {
            e.returned = Some(r);
            returned += 1;
        }
    }
    let register = Register { entries };
    // The postcondition: every complete night agrees with what was rebuilt.
    verify(job_dir, &register, settle_core::Date::MIN)?;
    let bytes = write(&register).map_err(|e| JobError::Register { path: FILE.into(), message: e.to_string() })?;
    let path = job_dir.join(FILE);
    let kept = if path.exists() {
        let aside = job_dir.join(format!("{FILE}.replaced"));
        std::fs::rename(&path, &aside)
            .map_err(|source| JobError::Write { path: aside.display().to_string(), source })?;
        Some(aside)
    } else {
        None
    };
    crate::write::write_atomic(job_dir, FILE, &bytes)
        .map_err(|source| JobError::Write { path: path.display().to_string(), source })?;
    Ok(Rebuilt { path, payouts: register.entries.len(), nights: complete, returned, kept, incomplete })
}
