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
//! currency, a cross-border transfer to a beneficiary without a BIC or without a town in its postal
//! address, or a beneficiary whose bank
//! account differs from the one its last emitted payout went to (a fraud control; the job approves such
//! a change by beneficiary id).
//!
//! **Never twice.** The payout register (`Register`, kept by the job beside its runs) lists every payout
//! ever written into a file, with the file's `MsgId` and hash. A payout already in the register is never
//! put into a new file: when tonight's payouts are the ones an earlier run of the same business date
//! emitted, the files are rebuilt, must come out byte for byte the same (else it is an error), and are
//! reported as already emitted; a payout emitted before with other content (a `--force` rerun on changed
//! inputs) is held as `already_emitted`; payouts new to the register go into new files whose numbers
//! follow the emitted ones, so no `MsgId` is used twice.

use std::collections::BTreeMap;

use settle_core::{Currency, Date, Money};
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

/// Codes the job puts on transfers: a purpose code on every transfer, and regulatory reporting codes by
/// the beneficiary's country on cross-border transfers (central banks of many countries outside the
/// EEA require one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferCodes {
    /// `Purp/Cd` (ExternalPurpose1Code, e.g. `SUPP`).
    pub purpose: Option<String>,
    /// ISO 3166 country → `RgltryRptg/Dtls/Cd`.
    pub regulatory: BTreeMap<String, String>,
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
    /// `payouts/<debtor IBAN>-<currency>-<business date>-<n>.xml`.
    pub name: String,
    pub message_id: String,
    pub written: Written,
    /// The payouts it carries, in file order.
    pub payout_ids: Vec<String>,
    /// An earlier run of this business date emitted this very file (same bytes): not new.
    pub already_emitted: bool,
}

/// One payout written into a file: a row of the payout register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterEntry {
    pub payout_id: String,
    pub end_to_end_id: String,
    pub message_id: String,
    pub file: String,
    /// sha256 of the file's bytes, hex.
    pub file_sha256: String,
    pub business_date: Date,
    pub beneficiary_id: String,
    /// `Beneficiary::account_id`: the IBAN, or clearing system, bank code and account number.
    pub account: String,
    pub amount: Money,
    /// `PmtInfId` of its payment batch.
    pub payment_information_id: String,
    /// When the bank rejected it (pain.002) and the run of that business date returned it to the
    /// beneficiary's balance; a return is applied once, by that run (and its reruns).
    pub returned: Option<Returned>,
}

/// A payout's return to the beneficiary's balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Returned {
    pub on: Date,
    /// The status report's reason codes, e.g. `AC04`.
    pub reason: String,
}

/// The account a beneficiary was last paid to before the job's register began (e.g. exported from the
/// payout system settle replaces): the bank-details check compares with it until the register has a
/// payout of the beneficiary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidAccount {
    pub beneficiary_id: String,
    pub iban: String,
    pub paid_on: Date,
}

/// Every payout a job ever emitted (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Register {
    pub entries: Vec<RegisterEntry>,
}

/// What tonight's files did to the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRun {
    pub files: Vec<PaymentFile>,
    /// Entries for the payouts of the new files (none for files already emitted).
    pub new_entries: Vec<RegisterEntry>,
}

/// Why a run cannot write its payout files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentFileError {
    #[error("{0}")]
    Pain001(#[from] Pain001Error),
    #[error(
        "{file} was emitted on an earlier run with sha256 {emitted}, and rebuilding it gives {rebuilt}: the payouts or the bank profile changed since; it is not sent again"
    )]
    Rebuilt { file: String, emitted: String, rebuilt: String },
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

/// The `MsgId` of file `n` (from 1) in `currency` of a job's business date: ≤ 35 characters, SEPA-safe.
pub fn message_id(job_name: &str, business_date: Date, currency: Currency, n: usize) -> String {
    let digest = Sha256::digest(format!("settle/pain001/v1\0{job_name}").as_bytes());
    let tag: String = digest.iter().take(4).map(|b| format!("{b:02X}")).collect();
    format!("S{tag}-{}-{currency}-{n}", business_date.strftime("%Y%m%d"))
}

/// `PmtInfId` of batch `k` (from 0) of the file with `message_id`.
pub fn payment_information_id(message_id: &str, k: usize) -> String {
    format!("{message_id}-{}", k + 1)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A payment batch within a currency's files: execution date, cross-border (false = SEPA, first).
type BatchKey = (Date, bool);

/// The number a file's `MsgId` ends with.
fn file_number(message_id: &str) -> usize {
    message_id.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// What a pain.001 in `charset` cannot carry of a beneficiary's texts, as the file writes them: an empty
/// name, or a name, street, building number, post code or town longer than its element takes (the postal
/// address only when `with_address`: transfers outside SEPA carry it). Names the column and the limit.
pub fn beneficiary_problem(b: &settle_core::Beneficiary, charset: Charset, with_address: bool) -> Option<String> {
    let address = [
        ("street", b.street.as_deref(), 70, "StrtNm"),
        ("building_number", b.building_number.as_deref(), 16, "BldgNb"),
        ("post_code", b.post_code.as_deref(), 16, "PstCd"),
        ("town", b.town.as_deref(), 35, "TwnNm"),
    ];
    let fields = std::iter::once(("legal_name", Some(b.legal_name.as_str()), 140, "Nm"))
        .chain(address.into_iter().filter(|_| with_address));
    for (column, value, max, tag) in fields {
        let Some(value) = value else { continue };
        let written = settle_iso20022::pain001::written_text(value, charset);
        let written = written.trim();
        let length = written.chars().count();
        if column == "legal_name" && written.is_empty() {
            return Some(
                "legal_name is empty as a payout file writes it (control and invisible characters removed)".into(),
            );
        }
        if length > max {
            return Some(format!(
                "{column} is {length} characters as a payout file writes it, longer than the {max} its <{tag}> takes"
            ));
        }
    }
    None
}

/// The payable payouts of a night sorted out: those already in a file the register lists (by its
/// MsgId), and the new ones by currency and batch; the others' status changed to why no file may carry
/// them. Each payout's status depends on it, the debtor and the register only, so parts of a night
/// (the partitions of a partitioned run) get the statuses the whole night gets.
struct Decided {
    reproduced: BTreeMap<String, Vec<usize>>,
    fresh: BTreeMap<Currency, BTreeMap<BatchKey, Vec<usize>>>,
}

fn decide(
    payouts: &mut [Payout],
    charset: Charset,
    debtor: &Debtor,
    business_date: Date,
    register: &Register,
    approved_bank_changes: &[String],
    paid_before: &[PaidAccount],
) -> Decided {
    let emitted: BTreeMap<&str, &RegisterEntry> = register.entries.iter().map(|e| (e.payout_id.as_str(), e)).collect();
    // The account each beneficiary's latest emitted payout went to (register order is emission order),
    // else the one it was last paid to before the register began.
    let mut last_account: BTreeMap<&str, &str> = BTreeMap::new();
    let mut before: Vec<&PaidAccount> = paid_before.iter().collect();
    before.sort_by_key(|p| p.paid_on);
    for p in before {
        last_account.insert(p.beneficiary_id.as_str(), p.iban.as_str());
    }
    for e in &register.entries {
        last_account.insert(e.beneficiary_id.as_str(), e.account.as_str());
    }
    // Tonight's payouts: those already in an emitted file (by its MsgId), and the new ones by currency
    // and batch, in payout id order.
    let mut reproduced: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut fresh: BTreeMap<Currency, BTreeMap<BatchKey, Vec<usize>>> = BTreeMap::new();
    for (i, payout) in payouts.iter_mut().enumerate() {
        if payout.status != PayoutStatus::Payable {
            continue;
        }
        let beneficiary = payout.beneficiary.as_ref().expect("a payable payout has its beneficiary");
        let currency = payout.amount.currency();
        let sepa = is_sepa(currency, &beneficiary.iban);
        let account = beneficiary.account_id();
        let changed = last_account.get(beneficiary.beneficiary_id.as_str()).is_some_and(|a| *a != account);
        // Outside SEPA the beneficiary's bank is named by BIC or by its clearing system membership.
        let bank_named = beneficiary.bic.as_deref().is_some_and(|b| !b.is_empty())
            || (beneficiary.clearing_system.is_some() && beneficiary.bank_code.is_some());
        payout.status = if !debtor.accounts.iter().any(|a| a.currency == currency) {
            PayoutStatus::HeldNoDebtorAccount
        } else if !sepa && !bank_named {
            PayoutStatus::HeldMissingBic
        } else if !sepa && beneficiary.town.as_deref().is_none_or(|t| t.trim().is_empty()) {
            PayoutStatus::HeldMissingAddress
        } else if beneficiary_problem(beneficiary, charset, !sepa).is_some() {
            PayoutStatus::HeldInvalidBeneficiary
        } else if let Some(entry) = emitted.get(payout.payout_id.as_str()) {
            let same =
                entry.business_date == business_date && entry.amount == payout.amount && entry.account == account;
            if same {
                reproduced.entry(entry.message_id.clone()).or_default().push(i);
                PayoutStatus::Payable
            } else {
                PayoutStatus::AlreadyEmitted
            }
        } else if changed && !approved_bank_changes.contains(&beneficiary.beneficiary_id) {
            PayoutStatus::HeldBankDetailsChanged
        } else {
            fresh.entry(currency).or_default().entry((payout.execution_date, !sepa)).or_default().push(i);
            PayoutStatus::Payable
        };
    }
    Decided { reproduced, fresh }
}

/// The statuses `payment_files` gives `payouts` (held, already emitted, payable), without the files: what
/// a partition of a partitioned run needs for its own payouts, whose files the merge writes.
pub fn hold_statuses(
    payouts: &mut [Payout],
    charset: Charset,
    debtor: &Debtor,
    business_date: Date,
    register: &Register,
    approved_bank_changes: &[String],
    paid_before: &[PaidAccount],
) {
    decide(payouts, charset, debtor, business_date, register, approved_bank_changes, paid_before);
}

/// Holds the payable payouts no file may carry (their status says why), rebuilds the files an earlier
/// run of this business date emitted, and writes the payouts new to `register` as new pain.001 files per
/// `profile`: one file per currency (the debtor account of that currency), cut per the profile.
/// `approved_bank_changes`: beneficiary ids whose changed bank account the job approves.
#[allow(clippy::too_many_arguments)]
pub fn payment_files(
    payouts: &mut [Payout],
    debtor: &Debtor,
    profile: &BankProfile,
    job_name: &str,
    business_date: Date,
    register: &Register,
    approved_bank_changes: &[String],
    paid_before: &[PaidAccount],
    codes: &TransferCodes,
) -> Result<PaymentRun, PaymentFileError> {
    let Decided { reproduced, fresh } =
        decide(payouts, profile.charset, debtor, business_date, register, approved_bank_changes, paid_before);
    // The highest file number emitted per currency for this business date.
    let mut next_number: BTreeMap<Currency, usize> = BTreeMap::new();
    for e in register.entries.iter().filter(|e| e.business_date == business_date) {
        let n = next_number.entry(e.amount.currency()).or_insert(1);
        *n = (*n).max(file_number(&e.message_id) + 1);
    }
    let emitted: BTreeMap<&str, &RegisterEntry> = register.entries.iter().map(|e| (e.payout_id.as_str(), e)).collect();
    let by_id = |a: &usize, b: &usize| payouts[*a].payout_id.cmp(&payouts[*b].payout_id);
    let mut files = Vec::new();
    // Files emitted before: rebuilt whole, and they must come out the same.
    for (message_id, mut members) in reproduced {
        members.sort_by(&by_id);
        let currency = payouts[members[0]].amount.currency();
        let mut batches: BTreeMap<BatchKey, Vec<usize>> = BTreeMap::new();
        for &i in &members {
            let b = payouts[i].beneficiary.as_ref().expect("payable");
            batches.entry((payouts[i].execution_date, !is_sepa(currency, &b.iban))).or_default().push(i);
        }
        let chunks: Vec<(&BatchKey, &[usize])> = batches.iter().map(|(k, v)| (k, v.as_slice())).collect();
        let mut file = write_file(payouts, debtor, profile, codes, business_date, currency, &message_id, &chunks)?;
        let entry = emitted[payouts[members[0]].payout_id.as_str()];
        let rebuilt = sha256_hex(file.written.xml.as_bytes());
        if rebuilt != entry.file_sha256 || file.name != entry.file {
            return Err(PaymentFileError::Rebuilt {
                file: entry.file.clone(),
                emitted: entry.file_sha256.clone(),
                rebuilt,
            });
        }
        file.already_emitted = true;
        files.push(file);
    }
    // New files: per currency, batches cut into chunks of at most the profile's transfers, chunks packed
    // into files.
    let max = profile.max_transactions_per_file.map_or(usize::MAX, |m| (m as usize).max(1));
    let mut new_entries = Vec::new();
    for (currency, mut batches) in fresh {
        for members in batches.values_mut() {
            members.sort_by(&by_id);
        }
        let mut packed: Vec<Vec<(&BatchKey, &[usize])>> = Vec::new();
        let mut in_file = 0usize;
        for (key, members) in &batches {
            for chunk in members.chunks(max) {
                let fits = !packed.is_empty() && !profile.one_batch_per_file && in_file + chunk.len() <= max;
                if !fits {
                    packed.push(Vec::new());
                    in_file = 0;
                }
                packed.last_mut().expect("pushed").push((key, chunk));
                in_file += chunk.len();
            }
        }
        let first = next_number.get(&currency).copied().unwrap_or(1);
        for (n, chunks) in packed.iter().enumerate() {
            let message_id = message_id(job_name, business_date, currency, first + n);
            let file = write_file(payouts, debtor, profile, codes, business_date, currency, &message_id, chunks)?;
            let file_sha256 = sha256_hex(file.written.xml.as_bytes());
            // The file's payouts in file order: its chunks' members (no search by id).
            let members = chunks.iter().enumerate().flat_map(|(k, (_, members))| members.iter().map(move |&i| (k, i)));
            for (k, i) in members {
                let payout = &payouts[i];
                let b = payout.beneficiary.as_ref().expect("payable");
                new_entries.push(RegisterEntry {
                    payout_id: payout.payout_id.clone(),
                    end_to_end_id: payout.end_to_end_id.clone(),
                    message_id: message_id.clone(),
                    file: file.name.clone(),
                    file_sha256: file_sha256.clone(),
                    business_date,
                    beneficiary_id: payout.beneficiary_id.clone(),
                    account: b.account_id(),
                    amount: payout.amount,
                    payment_information_id: payment_information_id(&message_id, k),
                    returned: None,
                });
            }
            files.push(file);
        }
    }
    // By currency, then file number (`…-EUR-1`, `…-EUR-2`, `…-USD-1`).
    files.sort_by_key(|f| {
        let mut parts = f.message_id.rsplitn(3, '-');
        let n = parts.next().and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
        (parts.next().unwrap_or("").to_string(), n)
    });
    Ok(PaymentRun { files, new_entries })
}

/// One file of `currency` with `message_id`, of the batches (chunks) given, in order.
#[allow(clippy::too_many_arguments)]
fn write_file(
    payouts: &[Payout],
    debtor: &Debtor,
    profile: &BankProfile,
    codes: &TransferCodes,
    business_date: Date,
    currency: Currency,
    message_id: &str,
    chunks: &[(&BatchKey, &[usize])],
) -> Result<PaymentFile, Pain001Error> {
    let account = debtor.accounts.iter().find(|a| a.currency == currency).expect("checked by the caller");
    let mut payment_batches = Vec::with_capacity(chunks.len());
    let mut payout_ids = Vec::new();
    for (k, ((execution_date, cross_border), members)) in chunks.iter().enumerate() {
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
                    creditor_agent: {
                        let bic = b.bic.clone().filter(|bic| !bic.is_empty());
                        let clearing = b.clearing_system.clone().zip(b.bank_code.clone());
                        (bic.is_some() || clearing.is_some()).then_some(Agent { bic, clearing })
                    },
                    creditor: Party {
                        name: b.legal_name.clone(),
                        // Cross-border transfers carry the structured address (the town is checked above).
                        address: cross_border.then(|| PostalAddress {
                            street: b.street.clone(),
                            building_number: b.building_number.clone(),
                            post_code: b.post_code.clone(),
                            town: b.town.clone(),
                            country: b.country.clone(),
                        }),
                    },
                    creditor_account: match &b.account_number {
                        Some(number) if b.iban.is_empty() => Account::Other(number.clone()),
                        _ => Account::Iban(b.iban.clone()),
                    },
                    purpose: codes.purpose.clone(),
                    regulatory_code: if *cross_border { codes.regulatory.get(&b.country).cloned() } else { None },
                    remittance: Some(format!("Payout {} {}", payout.business_date, payout.payout_id)),
                }
            })
            .collect();
        payment_batches.push(PaymentBatch {
            payment_info_id: payment_information_id(message_id, k),
            batch_booking: profile.batch_booking,
            service_level: (!cross_border).then(|| "SEPA".to_string()),
            execution_date: *execution_date,
            debtor: Party { name: debtor.name.clone(), address: debtor.address.clone() },
            debtor_account: Account::Iban(account.iban.clone()),
            debtor_account_currency: Some(currency),
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
        message_id: message_id.to_string(),
        // The business date's end, not the clock: a rerun writes the same bytes.
        created: format!("{business_date}T23:59:59Z"),
        initiating_party: Party { name: debtor.name.clone(), address: None },
        batches: payment_batches,
    };
    let n = file_number(message_id);
    let suffix = if n > 1 { format!("-{n}") } else { String::new() };
    let name = format!("payouts/{}-{currency}-{business_date}{suffix}.xml", account.iban);
    Ok(PaymentFile {
        name,
        message_id: message_id.to_string(),
        written: write_pain001(&doc, profile.charset)?,
        payout_ids,
        already_emitted: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use settle_core::{Beneficiary, Money, parse_date};

    fn payout(id: &str, amount: &str, currency: &str, iban: &str, bic: Option<&str>) -> Payout {
        let currency = Currency::from_code(currency).unwrap();
        Payout {
            payout_id: id.into(),
            end_to_end_id: id.into(),
            beneficiary_id: format!("B-{id}"),
            beneficiary: Some(Beneficiary {
                street: Some("Main Street".into()),
                building_number: Some("1".into()),
                post_code: Some("10001".into()),
                town: Some("Springfield".into()),
                legal_name: format!("Beneficiary {id}"),
                country: iban[..2].into(),
                iban: iban.into(),
                bic: bic.map(Into::into),
                ..crate::tests::beneficiary(&format!("B-{id}"), currency.code())
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
            {
                // Cross-border without a town: held.
                let mut p = payout("P8", "80.00", "USD", "GB29NWBK60161331926819", Some("NWBKGB2L"));
                p.beneficiary.as_mut().unwrap().town = None;
                p
            },
        ]
    }

    /// The files of `payouts` on `date` with the test debtor and the default profile and codes.
    fn files_on(payouts: &mut [Payout], date: Date, register: &Register) -> Result<PaymentRun, PaymentFileError> {
        payment_files(
            payouts,
            &debtor(),
            &BankProfile::default(),
            "job",
            date,
            register,
            &[],
            &[],
            &TransferCodes::default(),
        )
    }

    fn run(payouts: &mut [Payout], profile: &BankProfile, register: &Register) -> PaymentRun {
        let date = parse_date("2026-10-30").unwrap();
        payment_files(payouts, &debtor(), profile, "job", date, register, &[], &[], &TransferCodes::default()).unwrap()
    }

    #[test]
    fn batches_by_currency_date_and_type_with_holds() {
        let mut all = payouts();
        let date = parse_date("2026-10-30").unwrap();
        let out = run(&mut all, &BankProfile::default(), &Register::default());
        let status = |id: &str| all.iter().find(|p| p.payout_id == id).unwrap().status;
        assert_eq!(status("P3"), PayoutStatus::HeldMissingBic, "cross-border without a BIC");
        assert_eq!(status("P5"), PayoutStatus::HeldNoDebtorAccount, "no SEK account");
        assert_eq!(status("P8"), PayoutStatus::HeldMissingAddress, "cross-border without a town");
        let names: Vec<&str> = out.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["payouts/DE89370400440532013000-EUR-2026-10-30.xml", "payouts/GB33BUKB20201555555555-USD-2026-10-30.xml"]
        );
        let eur = &out.files[0];
        assert_eq!(eur.message_id, message_id("job", date, Currency::from_code("EUR").unwrap(), 1));
        // EUR SEPA (P1, P4 in id order), then EUR cross-border (P6).
        assert_eq!(eur.payout_ids, ["P1", "P4", "P6"]);
        let xml = &eur.written.xml;
        assert_eq!(xml.matches("<PmtInf>").count(), 2);
        assert_eq!(xml.matches("<ChrgBr>SLEV</ChrgBr>").count(), 1);
        assert_eq!(xml.matches("<ChrgBr>SHAR</ChrgBr>").count(), 1);
        assert!(xml.contains(&format!("<PmtInfId>{}-2</PmtInfId>", eur.message_id)));
        assert_eq!(eur.written.control_sum, "90.00".parse().unwrap());
        assert_eq!(out.new_entries.len(), 4);
        assert!(out.files.iter().all(|f| !f.already_emitted));
        // Same payouts, same bytes.
        assert_eq!(run(&mut payouts(), &BankProfile::default(), &Register::default()), out);
    }

    /// An account outside IBAN countries: its number as `Othr/Id`, its bank by clearing system membership
    /// (no BIC needed), always cross-border; without BIC and clearing code it is held.
    #[test]
    fn accounts_without_iban_are_paid_by_clearing_code() {
        let us = |id: &str, clearing: bool| {
            let mut p = payout(id, "120.00", "USD", "GB33BUKB20201555555555", None);
            let b = p.beneficiary.as_mut().unwrap();
            b.iban = String::new();
            b.country = "US".into();
            b.account_number = Some("000123456789".into());
            if clearing {
                b.clearing_system = Some("USABA".into());
                b.bank_code = Some("021000021".into());
            }
            p
        };
        let mut all = vec![us("U1", true), us("U2", false)];
        let out = run(&mut all, &BankProfile::default(), &Register::default());
        assert_eq!((all[0].status, all[1].status), (PayoutStatus::Payable, PayoutStatus::HeldMissingBic));
        let xml: String = out.files[0].written.xml.split_whitespace().collect();
        assert!(xml.contains("<Othr><Id>000123456789</Id></Othr>"), "{xml}");
        assert!(xml.contains("<ClrSysId><Cd>USABA</Cd></ClrSysId><MmbId>021000021</MmbId>"), "{xml}");
        assert_eq!(out.new_entries[0].account, "USABA/021000021/000123456789");
        // The job's purpose code goes on every transfer, a regulatory code by the beneficiary's country.
        let codes = TransferCodes { purpose: Some("SUPP".into()), regulatory: [("US".into(), "PAY01".into())].into() };
        let mut coded = vec![us("U1", true)];
        let date = parse_date("2026-10-30").unwrap();
        let out = payment_files(
            &mut coded,
            &debtor(),
            &BankProfile::default(),
            "job",
            date,
            &Register::default(),
            &[],
            &[],
            &codes,
        )
        .unwrap();
        let xml: String = out.files[0].written.xml.split_whitespace().collect();
        assert!(xml.contains("<Purp><Cd>SUPP</Cd></Purp>"), "{xml}");
        assert!(xml.contains("<RgltryRptg><Dtls><Cd>PAY01</Cd></Dtls></RgltryRptg>"), "{xml}");
    }

    #[test]
    fn files_are_cut_per_the_bank_profile() {
        let date = parse_date("2026-10-30").unwrap();
        let profile = BankProfile { max_transactions_per_file: Some(1), ..BankProfile::default() };
        let out = run(&mut payouts(), &profile, &Register::default());
        let names: Vec<&str> = out.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "payouts/DE89370400440532013000-EUR-2026-10-30.xml",
                "payouts/DE89370400440532013000-EUR-2026-10-30-2.xml",
                "payouts/DE89370400440532013000-EUR-2026-10-30-3.xml",
                "payouts/GB33BUKB20201555555555-USD-2026-10-30.xml"
            ]
        );
        let ids: std::collections::BTreeSet<&str> = out.files.iter().map(|f| f.message_id.as_str()).collect();
        assert_eq!(ids.len(), 4, "a message id per file");
        let profile = BankProfile { one_batch_per_file: true, ..BankProfile::default() };
        let out = run(&mut payouts(), &profile, &Register::default());
        assert_eq!(out.files.iter().map(|f| f.payout_ids.len()).collect::<Vec<_>>(), [2, 1, 1]);
        assert!(out.files.iter().all(|f| f.written.xml.matches("<PmtInf>").count() == 1));
        // A different job never shares a message id.
        let eur = Currency::from_code("EUR").unwrap();
        assert_ne!(message_id("job", date, eur, 1), message_id("other", date, eur, 1));
        assert!(message_id("job", date, eur, 1).len() <= 35);
    }

    #[test]
    fn nothing_is_paid_twice() {
        let first = run(&mut payouts(), &BankProfile::default(), &Register::default());
        let register = Register { entries: first.new_entries.clone() };
        // A rerun rebuilds the same files and adds nothing to the register.
        let again = run(&mut payouts(), &BankProfile::default(), &register);
        assert!(again.files.iter().all(|f| f.already_emitted));
        assert!(again.new_entries.is_empty());
        assert_eq!(
            again.files.iter().map(|f| &f.written.xml).collect::<Vec<_>>(),
            first.files.iter().map(|f| &f.written.xml).collect::<Vec<_>>()
        );
        // Changed inputs under --force: P1's amount differs from what was emitted, and P7 is new. P1 is
        // held, never sent again; P4 and P6 can no longer rebuild their file, so the run stops.
        let mut changed = payouts();
        changed[1].amount = Money::new("21.00".parse().unwrap(), changed[1].amount.currency());
        let date = parse_date("2026-10-30").unwrap();
        let err = files_on(&mut changed, date, &register).unwrap_err();
        assert!(matches!(err, PaymentFileError::Rebuilt { .. }), "{err}");
        assert_eq!(changed[1].status, PayoutStatus::AlreadyEmitted);
        // Only the USD payout (P2) unchanged, and a new one: P2's file is rebuilt, P7 goes into file 2.
        let mut usd =
            vec![payouts().remove(2), payout("P7", "70.00", "USD", "GB29NWBK60161331926819", Some("NWBKGB2L"))];
        let out = files_on(&mut usd, date, &register).unwrap();
        let files: Vec<(&str, bool, &[String])> =
            out.files.iter().map(|f| (f.name.as_str(), f.already_emitted, f.payout_ids.as_slice())).collect();
        assert_eq!(
            files,
            [
                ("payouts/GB33BUKB20201555555555-USD-2026-10-30.xml", true, &["P2".to_string()][..]),
                ("payouts/GB33BUKB20201555555555-USD-2026-10-30-2.xml", false, &["P7".to_string()][..]),
            ]
        );
        assert!(out.files[1].message_id.ends_with("-USD-2"));
        assert_eq!(out.new_entries.iter().map(|e| e.payout_id.as_str()).collect::<Vec<_>>(), ["P7"]);
    }

    #[test]
    fn a_changed_bank_account_is_held_unless_approved() {
        let first = run(&mut payouts(), &BankProfile::default(), &Register::default());
        let register = Register { entries: first.new_entries };
        let next_day = parse_date("2026-10-31").unwrap();
        let tomorrow = || {
            let mut p = payout("Q1", "15.00", "EUR", "DE75512108001245126199", Some("SOGEDEFF"));
            p.beneficiary_id = "B-P1".into();
            p.beneficiary.as_mut().unwrap().beneficiary_id = "B-P1".into();
            vec![p]
        };
        let mut held = tomorrow();
        let out = files_on(&mut held, next_day, &register).unwrap();
        assert_eq!(held[0].status, PayoutStatus::HeldBankDetailsChanged);
        assert!(out.files.is_empty());
        let mut approved = tomorrow();
        let out = payment_files(
            &mut approved,
            &debtor(),
            &BankProfile::default(),
            "job",
            next_day,
            &register,
            &["B-P1".into()],
            &[],
            &TransferCodes::default(),
        )
        .unwrap();
        assert_eq!(approved[0].status, PayoutStatus::Payable);
        assert_eq!(out.files.len(), 1);
        // Before the register knows a beneficiary, the account it was paid to before (the previous
        // system's) is the one compared with; the register's latest payout wins over it.
        let date = |t: &str| parse_date(t).unwrap();
        let paid =
            |iban: &str, on: &str| PaidAccount { beneficiary_id: "B-P1".into(), iban: iban.into(), paid_on: date(on) };
        let history = [paid("DE75512108001245126199", "2026-09-30"), paid("DE02120300000000202051", "2026-08-31")];
        let status_with = |history: &[PaidAccount]| {
            let mut payouts = tomorrow();
            let (profile, register, codes) = (BankProfile::default(), Register::default(), TransferCodes::default());
            payment_files(&mut payouts, &debtor(), &profile, "job", next_day, &register, &[], history, &codes).unwrap();
            payouts[0].status
        };
        assert_eq!(status_with(&history), PayoutStatus::Payable, "the latest earlier payment went to this IBAN");
        let moved = [paid("DE02120300000000202051", "2026-10-15"), history[0].clone()];
        assert_eq!(status_with(&moved), PayoutStatus::HeldBankDetailsChanged);
    }
}
