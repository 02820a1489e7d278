//! pain.002 (customer payment status report) reader: the bank's answer to a pain.001, at group, batch
//! (`PmtInf`) and transaction level, with reason codes (`AC01` wrong account, `AC04` closed account,
//! `AM05` duplicate, …). Any version (.03 to .14 and national variants such as the Swiss `.ch.02`) is
//! read by element names; the guards are the camt reader's (see `xml`).

use std::io::Read;

use crate::xml::{Limits, Node, walk};

/// At which level a status is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusLevel {
    /// The whole original message (`OrgnlGrpInfAndSts/GrpSts`).
    Group,
    /// One payment batch (`OrgnlPmtInfAndSts/PmtInfSts`).
    Batch,
    /// One transfer (`TxInfAndSts/TxSts`).
    Transaction,
}

impl StatusLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusLevel::Group => "group",
            StatusLevel::Batch => "batch",
            StatusLevel::Transaction => "transaction",
        }
    }
}

/// One status the report gives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PaymentStatus {
    pub level: Option<StatusLevel>,
    /// The report's own `MsgId`.
    pub report_id: String,
    pub original_message_id: String,
    /// Batch and transaction levels.
    pub original_payment_info_id: Option<String>,
    /// Transaction level.
    pub original_instruction_id: Option<String>,
    pub original_end_to_end_id: Option<String>,
    /// `ACCP`, `ACSC`, `ACTC`, `PART`, `PDNG`, `RJCT`, … as written; empty when the level gives none.
    pub status: String,
    /// `StsRsnInf/Rsn/Cd` (or `Prtry`), in document order.
    pub reason_codes: Vec<String>,
    /// `StsRsnInf/AddtlInf`, joined by ` | `.
    pub additional_info: String,
    /// XML path of the element the status is in, with its position (`OrgnlPmtInfAndSts[1]/TxInfAndSts[2]`).
    pub xml_path: String,
}

impl PaymentStatus {
    /// Whether the bank refused it.
    pub fn is_rejected(&self) -> bool {
        self.status == "RJCT"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {path}: {message}")]
pub struct Pain002Error {
    pub file: String,
    pub path: String,
    pub message: String,
}

/// Reads a pain.002 document: one status per level the report fills (the group, each batch, each
/// transaction), in document order.
pub fn read_pain002<R: Read>(file: &str, input: R, limits: Limits) -> Result<Vec<PaymentStatus>, Pain002Error> {
    // (opening order, status)
    let mut statuses: Vec<(usize, PaymentStatus)> = Vec::new();
    let mut opened = 0usize;
    let mut report_id = String::new();
    let mut original_message_id = String::new();
    let mut root_seen = false;
    // The statuses being read: group, batch, transaction (innermost last).
    let mut open: Vec<(usize, PaymentStatus)> = Vec::new();
    let (mut batches, mut transactions) = (0usize, 0usize);
    let mut on = |stack: &[String], node: Node<'_>| -> Result<(), String> {
        let parent = |n: usize| stack.len().checked_sub(n + 1).map(|i| stack[i].as_str());
        match node {
            Node::Open(name) => {
                if stack.len() == 2 {
                    if stack[0] != "Document" || name != "CstmrPmtStsRpt" {
                        return Err(format!(
                            "expected <Document><CstmrPmtStsRpt> (a pain.002 payment status report), found <{}><{name}>",
                            stack[0]
                        ));
                    }
                    root_seen = true;
                }
                let (level, path) = match name {
                    "OrgnlGrpInfAndSts" => (StatusLevel::Group, "OrgnlGrpInfAndSts".to_string()),
                    "OrgnlPmtInfAndSts" => {
                        batches += 1;
                        transactions = 0;
                        (StatusLevel::Batch, format!("OrgnlPmtInfAndSts[{batches}]"))
                    }
                    "TxInfAndSts" => {
                        transactions += 1;
                        let path = if batches > 0 && parent(1) == Some("OrgnlPmtInfAndSts") {
                            format!("OrgnlPmtInfAndSts[{batches}]/TxInfAndSts[{transactions}]")
                        } else {
                            format!("TxInfAndSts[{transactions}]")
                        };
                        (StatusLevel::Transaction, path)
                    }
                    _ => return Ok(()),
                };
                let payment_info_id = open.iter().rev().find_map(|(_, s)| s.original_payment_info_id.clone());
                opened += 1;
                open.push((
                    opened,
                    PaymentStatus {
                        level: Some(level),
                        original_payment_info_id: payment_info_id,
                        xml_path: path,
                        ..PaymentStatus::default()
                    },
                ));
            }
            Node::Close(name, text) => {
                let in_reason = parent(1) == Some("Rsn") && parent(2) == Some("StsRsnInf");
                match name {
                    "MsgId" if parent(1) == Some("GrpHdr") => report_id = text.to_string(),
                    "OrgnlMsgId" if parent(1) == Some("OrgnlGrpInfAndSts") => original_message_id = text.to_string(),
                    "OrgnlPmtInfId" => {
                        if let Some((_, s)) = open.last_mut() {
                            s.original_payment_info_id = Some(text.to_string());
                        }
                    }
                    "OrgnlInstrId" if parent(1) == Some("TxInfAndSts") => {
                        if let Some((_, s)) = open.last_mut() {
                            s.original_instruction_id = Some(text.to_string());
                        }
                    }
                    "OrgnlEndToEndId" if parent(1) == Some("TxInfAndSts") => {
                        if let Some((_, s)) = open.last_mut() {
                            s.original_end_to_end_id = Some(text.to_string());
                        }
                    }
                    "GrpSts" | "PmtInfSts" | "TxSts" => {
                        if let Some((_, s)) = open.last_mut() {
                            s.status = text.to_string();
                        }
                    }
                    "Cd" | "Prtry" if in_reason => {
                        if let Some((_, s)) = open.last_mut() {
                            s.reason_codes.push(text.to_string());
                        }
                    }
                    "AddtlInf" if parent(1) == Some("StsRsnInf") => {
                        if let Some((_, s)) = open.last_mut() {
                            if !s.additional_info.is_empty() {
                                s.additional_info.push_str(" | ");
                            }
                            s.additional_info.push_str(text);
                        }
                    }
                    "OrgnlGrpInfAndSts" | "OrgnlPmtInfAndSts" | "TxInfAndSts" => {
                        let (seq, status) = open.pop().expect("opened");
                        // A group or batch without a status of its own only carries what is inside it.
                        if status.level == Some(StatusLevel::Transaction) || !status.status.is_empty() {
                            statuses.push((seq, status));
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    };
    walk(input, limits, &mut on).map_err(|e| Pain002Error {
        file: file.to_string(),
        path: e.path,
        message: e.message,
    })?;
    if !root_seen {
        return Err(Pain002Error {
            file: file.to_string(),
            path: "/".into(),
            message: "empty document: expected a pain.002 <Document><CstmrPmtStsRpt>".into(),
        });
    }
    // Batches close after their transactions: statuses go in the order their elements open.
    statuses.sort_by_key(|(seq, _)| *seq);
    Ok(statuses
        .into_iter()
        .map(|(_, s)| PaymentStatus {
            report_id: report_id.clone(),
            original_message_id: original_message_id.clone(),
            ..s
        })
        .collect())
}
