//! Payouts that did not reach the beneficiary, back into balances: the bank's pain.002 status reports,
//! and returns of debited payouts in our bank statements (stage C `returned_payout`), against the payout
//! register.
//!
//! A rejection (`RJCT`) names what it rejects by the original message: the whole file (group level,
//! `OrgnlMsgId`), one payment batch (`OrgnlPmtInfId`) or one transfer (`OrgnlEndToEndId`); a bank
//! return names the transfer's EndToEndId. Each register entry covered is returned to its beneficiary's
//! balance, with the reason, by the run of the business date that first sees it; the register records
//! that date, so a later night given the same report again does not return the payout twice, and a
//! rerun of the same night returns it the same way.

use std::collections::{BTreeMap, BTreeSet};

use settle_core::Date;
use settle_iso20022::pain002::{PaymentStatus, StatusLevel};

use crate::files::{Register, Returned};
use crate::{BalanceKind, CarriedBalance};

/// One register entry a status report rejects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Index into the register's entries.
    pub entry: usize,
    pub reason: String,
    /// The status report's `MsgId`, or the bank entry (`<account>:<entry id>`) that brought it back.
    pub source: String,
    /// False when an earlier night already returned it (nothing is returned again).
    pub applied: bool,
}

/// What tonight's status reports did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Returns {
    /// Balances to bring into tonight's payouts (`BalanceKind::Returned`), in register order.
    pub balances: Vec<CarriedBalance>,
    /// Every rejected register entry, in register order.
    pub rejections: Vec<Rejection>,
    /// Rejections that name nothing in the register, or entries returned before: for the run's notes.
    pub notes: Vec<String>,
    /// Whether the register's entries differ from what they were before (it must be written again).
    pub changed: bool,
}

/// A debited payout that came back in a bank statement (stage C).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankReturn {
    pub end_to_end_id: String,
    /// The return reason the bank gave (camt `RtrInf/Rsn`), or `bank return`.
    pub reason: String,
    /// `<account>:<entry id>` of the returning credit.
    pub source: String,
}

/// Which register entries the rejections of `statuses` cover: (reason, report id) per entry, and notes
/// for rejections that name nothing in the register.
fn covered(
    register: &Register,
    statuses: &[PaymentStatus],
    debited: &BTreeMap<String, Date>,
) -> (Vec<Option<(String, String)>>, Vec<String>) {
    let mut rejected: Vec<Option<(String, String)>> = vec![None; register.entries.len()];
    let mut notes = Vec::new();
    for status in statuses.iter().filter(|s| s.status == "RJCT") {
        let reason = if status.reason_codes.is_empty() { "NARR".to_string() } else { status.reason_codes.join("+") };
        let covers = |e: &crate::files::RegisterEntry| -> bool {
            let message = status.original_message_id.is_empty() || e.message_id == status.original_message_id;
            match status.level {
                Some(StatusLevel::Transaction) => {
                    message && status.original_end_to_end_id.as_deref() == Some(e.end_to_end_id.as_str())
                }
                Some(StatusLevel::Batch) => {
                    message && status.original_payment_info_id.as_deref() == Some(e.payment_information_id.as_str())
                }
                Some(StatusLevel::Group) | None => e.message_id == status.original_message_id,
            }
        };
        let mut found = false;
        for (i, e) in register.entries.iter().enumerate() {
            if covers(e) {
                found = true;
                // The bank's statement already debited it: the status report contradicts the bank's own
                // booking. Returning it would pay it twice if the money did leave; a person decides.
                if let Some(on) = debited.get(&e.end_to_end_id) {
                    notes.push(format!(
                        "status report {} ({}): rejects payout {} (EndToEndId {}), which the bank statement debited on {on}: not returned to {}'s balance; needs a person (ask the bank whether the money left)",
                        status.report_id, status.xml_path, e.payout_id, e.end_to_end_id, e.beneficiary_id
                    ));
                    continue;
                }
                if rejected[i].is_none() {
                    rejected[i] = Some((reason.clone(), status.report_id.clone()));
                }
            }
        }
        if !found {
            let what = match status.level {
                Some(StatusLevel::Transaction) => {
                    format!("EndToEndId {}", status.original_end_to_end_id.as_deref().unwrap_or(""))
                }
                Some(StatusLevel::Batch) => {
                    format!("PmtInfId {}", status.original_payment_info_id.as_deref().unwrap_or(""))
                }
                Some(StatusLevel::Group) | None => format!("MsgId {}", status.original_message_id),
            };
            notes.push(format!(
                "status report {} ({}): rejects {what} of message {}, which is not in the payout register",
                status.report_id, status.xml_path, status.original_message_id
            ));
        }
    }
    (rejected, notes)
}

/// The payout ids the rejections of `statuses` cover (they no longer await a bank debit).
pub fn rejected_payout_ids(
    register: &Register,
    statuses: &[PaymentStatus],
    debited: &BTreeMap<String, Date>,
) -> BTreeSet<String> {
    let (rejected, _) = covered(register, statuses, debited);
    rejected.iter().zip(&register.entries).filter(|(r, _)| r.is_some()).map(|(_, e)| e.payout_id.clone()).collect()
}

/// Applies the rejections of `statuses` and the bank returns to `register` for the night of
/// `business_date` (see the module docs); returns of this date from an earlier run of it are
/// recomputed from tonight's inputs. `debited`: EndToEndIds the bank statements debited (and when): a
/// status report's rejection of one of those is not applied but noted for a person.
pub fn apply_returns(
    register: &mut Register,
    statuses: &[PaymentStatus],
    bank_returns: &[BankReturn],
    debited: &BTreeMap<String, Date>,
    business_date: Date,
) -> Returns {
    // Only the returns can change here: what they were, to tell whether anything changed.
    let before: Vec<Option<Returned>> = register.entries.iter().map(|e| e.returned.clone()).collect();
    for e in &mut register.entries {
        if e.returned.as_ref().is_some_and(|r| r.on == business_date) {
            e.returned = None;
        }
    }
    let (mut rejected, notes) = covered(register, statuses, debited);
    for r in bank_returns {
        let entry = register.entries.iter().position(|e| e.end_to_end_id == r.end_to_end_id);
        if let Some(i) = entry.filter(|&i| rejected[i].is_none()) {
            rejected[i] = Some((r.reason.clone(), r.source.clone()));
        }
    }
    let mut out = Returns { notes, ..Returns::default() };
    for (i, rejection) in rejected.into_iter().enumerate() {
        let Some((reason, source)) = rejection else { continue };
        let e = &mut register.entries[i];
        let applied = match &e.returned {
            Some(earlier) => {
                out.notes.push(format!(
                    "{source}: payout {} was returned to {}'s balance on {} already; not again",
                    e.payout_id, e.beneficiary_id, earlier.on
                ));
                false
            }
            None => {
                e.returned = Some(Returned { on: business_date, reason: reason.clone() });
                out.balances.push(CarriedBalance {
                    beneficiary_id: e.beneficiary_id.clone(),
                    amount: e.amount,
                    kind: BalanceKind::Returned { payout_id: e.payout_id.clone(), reason: reason.clone() },
                });
                true
            }
        };
        out.rejections.push(Rejection { entry: i, reason, source, applied });
    }
    out.changed = register.entries.iter().zip(&before).any(|(e, was)| e.returned != *was);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::RegisterEntry;
    use settle_core::{Currency, Money, parse_date};

    fn entry(id: &str, message: &str, batch: usize) -> RegisterEntry {
        RegisterEntry {
            payout_id: id.into(),
            end_to_end_id: id.into(),
            message_id: message.into(),
            file: "payouts/x.xml".into(),
            file_sha256: "00".into(),
            business_date: parse_date("2026-10-31").unwrap(),
            beneficiary_id: format!("B-{id}"),
            account: "DE02120300000000202051".into(),
            amount: Money::new("10.00".parse().unwrap(), Currency::from_code("EUR").unwrap()),
            payment_information_id: format!("{message}-{batch}"),
            returned: None,
        }
    }

    fn status(level: StatusLevel, message: &str, batch: Option<&str>, e2e: Option<&str>, code: &str) -> PaymentStatus {
        PaymentStatus {
            level: Some(level),
            report_id: "RPT1".into(),
            original_message_id: message.into(),
            original_payment_info_id: batch.map(str::to_string),
            original_instruction_id: None,
            original_end_to_end_id: e2e.map(str::to_string),
            status: code.into(),
            reason_codes: if code == "RJCT" { vec!["AC04".into()] } else { Vec::new() },
            additional_info: String::new(),
            xml_path: "/Document/CstmrPmtStsRpt".into(),
        }
    }

    #[test]
    fn rejections_return_once_at_every_level() {
        let mut register = Register {
            entries: vec![entry("P1", "M1", 1), entry("P2", "M1", 2), entry("P3", "M2", 1), entry("P4", "M3", 1)],
        };
        let night = parse_date("2026-11-03").unwrap();
        let statuses = [
            status(StatusLevel::Transaction, "M1", Some("M1-1"), Some("P1"), "RJCT"),
            status(StatusLevel::Transaction, "M1", Some("M1-2"), Some("P2"), "ACSC"),
            status(StatusLevel::Batch, "M2", Some("M2-1"), None, "RJCT"),
            status(StatusLevel::Group, "M3", None, None, "RJCT"),
            status(StatusLevel::Transaction, "M9", None, Some("P9"), "RJCT"),
        ];
        let out = apply_returns(&mut register, &statuses, &[], &BTreeMap::new(), night);
        let returned: Vec<&str> = out.balances.iter().map(|b| b.beneficiary_id.as_str()).collect();
        assert_eq!(returned, ["B-P1", "B-P3", "B-P4"]);
        assert_eq!(out.notes.len(), 1, "{:?}", out.notes);
        assert!(out.notes[0].contains("EndToEndId P9 of message M9, which is not in the payout register"));
        assert_eq!(register.entries[0].returned, Some(Returned { on: night, reason: "AC04".into() }));
        assert!(out.changed);
        // A rerun of the same night returns the same (the register as it was); a later night does not
        // return them again.
        let again = apply_returns(&mut register, &statuses, &[], &BTreeMap::new(), night);
        assert_eq!(again.balances, out.balances);
        assert!(!again.changed);
        let later = apply_returns(&mut register, &statuses, &[], &BTreeMap::new(), parse_date("2026-11-04").unwrap());
        assert!(later.balances.is_empty());
        assert_eq!(later.rejections.iter().filter(|r| !r.applied).count(), 3);
        assert_eq!(register.entries[0].returned.as_ref().unwrap().on, night);
        // A rerun of the night without the report takes the return back.
        apply_returns(&mut register, &[], &[], &BTreeMap::new(), night);
        assert!(register.entries.iter().all(|e| e.returned.is_none()));
        // A debited payout the bank statement brings back is returned the same way, once.
        let back = [BankReturn { end_to_end_id: "P2".into(), reason: "AC06".into(), source: "ACC:E1".into() }];
        let out = apply_returns(&mut register, &statuses, &back, &BTreeMap::new(), night);
        assert_eq!(out.balances.len(), 4);
        assert_eq!(register.entries[1].returned, Some(Returned { on: night, reason: "AC06".into() }));
        assert_eq!(out.rejections[1].source, "ACC:E1");
        assert_eq!(
            rejected_payout_ids(&register, &statuses, &BTreeMap::new()).into_iter().collect::<Vec<_>>(),
            ["P1", "P3", "P4"]
        );
    }

    /// A status report that rejects a payout the bank statement already debited contradicts the bank's
    /// own booking: it is noted for a person and not returned (returning it would pay it twice if the
    /// money did leave), and the payout stays awaited/watched.
    #[test]
    fn a_rejection_of_a_debited_payout_is_noted_not_returned() {
        let mut register = Register { entries: vec![entry("P1", "M1", 1), entry("P2", "M1", 1)] };
        let night = parse_date("2026-11-04").unwrap();
        let statuses = [
            status(StatusLevel::Transaction, "M1", Some("M1-1"), Some("P1"), "RJCT"),
            status(StatusLevel::Transaction, "M1", Some("M1-1"), Some("P2"), "RJCT"),
        ];
        let debited: BTreeMap<String, Date> = [("P1".to_string(), parse_date("2026-11-02").unwrap())].into();
        let out = apply_returns(&mut register, &statuses, &[], &debited, night);
        assert_eq!(out.balances.iter().map(|b| b.beneficiary_id.as_str()).collect::<Vec<_>>(), ["B-P2"]);
        assert!(register.entries[0].returned.is_none());
        assert_eq!(out.notes.len(), 1, "{:?}", out.notes);
        assert!(
            out.notes[0].contains("rejects payout P1 (EndToEndId P1), which the bank statement debited on 2026-11-02")
        );
        assert!(out.notes[0].contains("needs a person"));
        assert_eq!(rejected_payout_ids(&register, &statuses, &debited).into_iter().collect::<Vec<_>>(), ["P2"]);
    }
}
