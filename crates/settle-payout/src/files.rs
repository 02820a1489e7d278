//! Payout files: tonight's payable payouts as pain.001 credit transfer files for the bank.
//!
//! Payouts go into one payment batch (`PmtInf`) per currency, execution date and payment type (SEPA or
//! cross-border), batches in that key order, transfers in payout id order; files are cut per the bank
//! profile (at most `max_transactions_per_file` transfers, or one batch per file). Every id is
//! derived, never drawn: `MsgId` from the job, business date and file number, `PmtInfId` from the
//! `MsgId` and batch number, `EndToEndId` is the payout's own. The same payouts and profile give the
//! same bytes on every rerun.
//!
//! A payout the file cannot carry is held, with the reason as its status: no debtor account in its
//! currency, or a cross-border transfer to a beneficiary without a BIC.

use std::collections::BTreeMap;

use settle_core::{Currency, Date};
use settle_iso20022::pain001::{
    Account, Agent, ChargeBearer, Charset, CreditTransfer, Pain001, Pain001Error, Pain001Version, Party, PaymentBatch,
    PostalAddress, Written, write_pain001,
};
use sha2::{Digest, Sha256};

use crate::{Payout, PayoutStatus};

/// One of our accounts payouts leave from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebtorAccount {
    pub currency: Currency,
    pub iban: String,
    pub bic: String,
}

/// Us, as the files name us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Debtor {
    pub name: String,
    pub address: Option<PostalAddress>,
    pub accounts: Vec<DebtorAccount>,
}

/// What the bank accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankProfile {
    pub version: Pain001Version,
    pub charset: Charset,
    /// At most this many transfers per file (a batch longer than that is split).
    pub max_transactions_per_file: Option<u32>,
    /// `BtchBookg`: one debit per batch (true) or per transfer (false); absent leaves it to the bank.
    pub batch_booking: Option<bool>,
    /// Banks that take one `PmtInf` per file.
    pub one_batch_per_file: bool,
    /// `ChrgBr` of cross-border transfers (SEPA ones are always `SLEV`).
    pub cross_border_charge_bearer: ChargeBearer,
}

impl Default for BankProfile {
    fn default() -> Self {
        BankProfile {
            version: Pain001Version::V09,
            charset: Charset::SepaLatin,
            max_transactions_per_file: None,
            batch_booking: Some(true),
            one_batch_per_file: false,
            cross_border_charge_bearer: ChargeBearer::Shared,
        }
    }
}

/// A written payout file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFile {
    /// `payouts.pain001.xml`, or `payouts-<n>.pain001.xml` when there are several.
    pub name: String,
    pub message_id: String,
    pub written: Written,
    /// The payouts it carries, in file order.
    pub payout_ids: Vec<String>,
}

/// Countries of the SEPA scheme (EEA, and CH, GB, SM, VA, MC, AD, AL, MD, ME, MK, RS) by ISO 3166 code,
/// as the first two letters of an IBAN give them.
const SEPA_COUNTRIES: [&str; 42] = [
    "AD", "AL", "AT", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GI", "GR", "HR", "HU",
    "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MC", "MD", "ME", "MK", "MT", "NL", "NO", "PL", "PT", "RO", "RS", "SE",
    "SI", "SK", "SM", "VA",
];

/// Whether a transfer of `currency` to `iban` is a SEPA credit transfer.
pub fn is_sepa(currency: Currency, iban: &str) -> bool {
    currency.code() == "EUR" && iban.get(..2).is_some_and(|country| SEPA_COUNTRIES.contains(&country))
}

/// The `MsgId` of file `n` (from 1) of a job's business date: ≤ 35 characters, SEPA-safe.
pub fn message_id(job_name: &str, business_date: Date, n: usize) -> String {
    let digest = Sha256::digest(format!("settle/pain001/v1\0{job_name}").as_bytes());
    let tag: String = digest.iter().take(4).map(|b| format!("{b:02X}")).collect();
    format!("S{tag}-{}-{n}", business_date.strftime("%Y%m%d"))
}

/// A payment batch: currency, execution date, cross-border (false = SEPA, first).
type BatchKey = (Currency, Date, bool);

/// Holds the payable payouts no file can carry (their status says why), then writes the rest as pain.001
/// files per `profile`. Nothing payable: no file.
pub fn payment_files(
    payouts: &mut [Payout],
    debtor: &Debtor,
    profile: &BankProfile,
    job_name: &str,
    business_date: Date,
) -> Result<Vec<PaymentFile>, Pain001Error> {
    // (currency, execution date, SEPA first) → payouts, in payout id order.
    let mut batches: BTreeMap<BatchKey, Vec<usize>> = BTreeMap::new();
    for (i, payout) in payouts.iter_mut().enumerate() {
        if payout.status != PayoutStatus::Payable {
            continue;
        }
        let beneficiary = payout.beneficiary.as_ref().expect("a payable payout has its beneficiary");
        let currency = payout.amount.currency();
        if !debtor.accounts.iter().any(|a| a.currency == currency) {
            payout.status = PayoutStatus::HeldNoDebtorAccount;
            continue;
        }
        let sepa = is_sepa(currency, &beneficiary.iban);
        if !sepa && beneficiary.bic.as_deref().is_none_or(str::is_empty) {
            payout.status = PayoutStatus::HeldMissingBic;
            continue;
        }
        batches.entry((currency, payout.execution_date, !sepa)).or_default().push(i);
    }
    for members in batches.values_mut() {
        members.sort_by(|&a, &b| payouts[a].payout_id.cmp(&payouts[b].payout_id));
    }
    // Cut batches into chunks of at most the profile's transfers, then pack chunks into files.
    let max = profile.max_transactions_per_file.map_or(usize::MAX, |m| (m as usize).max(1));
    let mut files: Vec<Vec<(&BatchKey, &[usize])>> = Vec::new();
    let mut in_file = 0usize;
    for (key, members) in &batches {
        for chunk in members.chunks(max) {
            let fits = !files.is_empty() && !profile.one_batch_per_file && in_file + chunk.len() <= max;
            if !fits {
                files.push(Vec::new());
                in_file = 0;
            }
            files.last_mut().expect("pushed").push((key, chunk));
            in_file += chunk.len();
        }
    }
    let several = files.len() > 1;
    let mut written = Vec::with_capacity(files.len());
    for (n, chunks) in files.iter().enumerate() {
        let message_id = message_id(job_name, business_date, n + 1);
        let mut payment_batches = Vec::with_capacity(chunks.len());
        let mut payout_ids = Vec::new();
        for (k, ((currency, execution_date, cross_border), members)) in chunks.iter().enumerate() {
            let account = debtor.accounts.iter().find(|a| a.currency == *currency).expect("checked above");
            let transfers: Vec<CreditTransfer> = members
                .iter()
                .map(|&i| {
                    let payout = &payouts[i];
                    payout_ids.push(payout.payout_id.clone());
                    let b = payout.beneficiary.as_ref().expect("payable");
                    CreditTransfer {
                        instruction_id: None,
                        end_to_end_id: payout.end_to_end_id.clone(),
                        amount: payout.amount,
                        charge_bearer: None,
                        creditor_agent: b
                            .bic
                            .as_ref()
                            .filter(|bic| !bic.is_empty())
                            .map(|bic| Agent { bic: Some(bic.clone()), clearing: None }),
                        creditor: Party {
                            name: b.legal_name.clone(),
                            // Cross-border transfers carry the country at least; street and town come
                            // with structured beneficiary addresses.
                            address: cross_border
                                .then(|| PostalAddress { country: b.country.clone(), ..PostalAddress::default() }),
                        },
                        creditor_account: Account::Iban(b.iban.clone()),
                        purpose: None,
                        regulatory_code: None,
                        remittance: Some(format!("Payout {} {}", payout.business_date, payout.payout_id)),
                    }
                })
                .collect();
            payment_batches.push(PaymentBatch {
                payment_info_id: format!("{message_id}-{}", k + 1),
                batch_booking: profile.batch_booking,
                service_level: (!cross_border).then(|| "SEPA".to_string()),
                execution_date: *execution_date,
                debtor: Party { name: debtor.name.clone(), address: debtor.address.clone() },
                debtor_account: Account::Iban(account.iban.clone()),
                debtor_account_currency: Some(*currency),
                debtor_agent: Agent { bic: Some(account.bic.clone()), clearing: None },
                charge_bearer: Some(if *cross_border {
                    profile.cross_border_charge_bearer
                } else {
                    ChargeBearer::ServiceLevel
                }),
                transfers,
            });
        }
        let doc = Pain001 {
            version: profile.version,
            message_id: message_id.clone(),
            // The business date's end, not the clock: a rerun writes the same bytes.
            created: format!("{business_date}T23:59:59Z"),
            initiating_party: Party { name: debtor.name.clone(), address: None },
            batches: payment_batches,
        };
        let name = if several { format!("payouts-{}.pain001.xml", n + 1) } else { "payouts.pain001.xml".into() };
        written.push(PaymentFile { name, message_id, written: write_pain001(&doc, profile.charset)?, payout_ids });
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use settle_core::{Beneficiary, Money, Provenance, parse_date};

    fn payout(id: &str, amount: &str, currency: &str, iban: &str, bic: Option<&str>) -> Payout {
        let currency = Currency::from_code(currency).unwrap();
        Payout {
            payout_id: id.into(),
            end_to_end_id: id.into(),
            beneficiary_id: format!("B-{id}"),
            beneficiary: Some(Beneficiary {
                beneficiary_id: format!("B-{id}"),
                legal_name: format!("Beneficiary {id}"),
                country: iban[..2].into(),
                iban: iban.into(),
                bic: bic.map(Into::into),
                payout_currency: currency,
                provenance: Provenance::line("beneficiaries.csv", 2),
            }),
            business_date: parse_date("2026-10-30").unwrap(),
            execution_date: parse_date("2026-11-02").unwrap(),
            amount: Money::new(amount.parse().unwrap(), currency),
            status: PayoutStatus::Payable,
            components: Vec::new(),
        }
    }

    fn debtor() -> Debtor {
        Debtor {
            name: "Marketplace Europe GmbH".into(),
            address: None,
            accounts: vec![
                DebtorAccount {
                    currency: Currency::from_code("EUR").unwrap(),
                    iban: "DE89370400440532013000".into(),
                    bic: "COBADEFFXXX".into(),
                },
                DebtorAccount {
                    currency: Currency::from_code("USD").unwrap(),
                    iban: "GB33BUKB20201555555555".into(),
                    bic: "BUKBGB22".into(),
                },
            ],
        }
    }

    fn payouts() -> Vec<Payout> {
        vec![
            payout("P4", "10.00", "EUR", "FR1420041010050500013M02606", None),
            payout("P1", "20.00", "EUR", "DE02120300000000202051", Some("BYLADEM1001")),
            payout("P2", "30.00", "USD", "GB29NWBK60161331926819", Some("NWBKGB2L")),
            payout("P3", "40.00", "USD", "GB29NWBK60161331926819", None),
            payout("P5", "50.00", "SEK", "SE4550000000058398257466", Some("ESSESESS")),
            // EUR outside the SEPA zone: cross-border, needs a BIC.
            payout("P6", "60.00", "EUR", "TR330006100519786457841326", Some("ISBKTRIS")),
        ]
    }

    #[test]
    fn batches_by_currency_date_and_type_with_holds() {
        let mut all = payouts();
        let date = parse_date("2026-10-30").unwrap();
        let files = payment_files(&mut all, &debtor(), &BankProfile::default(), "job", date).unwrap();
        let status = |id: &str| all.iter().find(|p| p.payout_id == id).unwrap().status;
        assert_eq!(status("P3"), PayoutStatus::HeldMissingBic, "cross-border without a BIC");
        assert_eq!(status("P5"), PayoutStatus::HeldNoDebtorAccount, "no SEK account");
        assert_eq!(files.len(), 1);
        let file = &files[0];
        assert_eq!(file.name, "payouts.pain001.xml");
        assert_eq!(file.message_id, message_id("job", date, 1));
        // EUR SEPA (P1, P4 in id order), then EUR cross-border (P6), then USD (P2).
        assert_eq!(file.payout_ids, ["P1", "P4", "P6", "P2"]);
        let xml = &file.written.xml;
        assert_eq!(xml.matches("<PmtInf>").count(), 3);
        assert_eq!(xml.matches("<ChrgBr>SLEV</ChrgBr>").count(), 1);
        assert_eq!(xml.matches("<ChrgBr>SHAR</ChrgBr>").count(), 2);
        assert!(xml.contains(&format!("<PmtInfId>{}-3</PmtInfId>", file.message_id)));
        assert_eq!(file.written.control_sum, "120.00".parse().unwrap());
        // Same payouts, same bytes.
        let again = payment_files(&mut payouts(), &debtor(), &BankProfile::default(), "job", date).unwrap();
        assert_eq!(again, files);
    }

    #[test]
    fn files_are_cut_per_the_bank_profile() {
        let date = parse_date("2026-10-30").unwrap();
        let profile = BankProfile { max_transactions_per_file: Some(1), ..BankProfile::default() };
        let files = payment_files(&mut payouts(), &debtor(), &profile, "job", date).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["payouts-1.pain001.xml", "payouts-2.pain001.xml", "payouts-3.pain001.xml", "payouts-4.pain001.xml"]
        );
        let ids: Vec<&str> = files.iter().map(|f| f.message_id.as_str()).collect();
        assert!(ids.windows(2).all(|w| w[0] != w[1]), "{ids:?}");
        let profile = BankProfile { one_batch_per_file: true, ..BankProfile::default() };
        let files = payment_files(&mut payouts(), &debtor(), &profile, "job", date).unwrap();
        assert_eq!(files.iter().map(|f| f.payout_ids.len()).collect::<Vec<_>>(), [2, 1, 1]);
        assert!(files.iter().all(|f| f.written.xml.matches("<PmtInf>").count() == 1));
        // A different job never shares a message id.
        assert_ne!(message_id("job", date, 1), message_id("other", date, 1));
        assert!(message_id("job", date, 1).len() <= 35);
    }
}
